from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.emotions.recognition.support import shared_tiny_model_dir


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return shared_tiny_model_dir(tmp_path_factory)


@pytest.fixture
def recognition(settings, tiny_model_dir) -> Path:
    """Recognition runs on the tiny model (a setting change rebuilds the process's pipeline)."""
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    return tiny_model_dir


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Test users are created by the dozen here; PBKDF2's deliberate slowness only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
