import uuid
from pathlib import Path

import numpy as np
import pytest
from rest_framework.test import APIClient

from tests.emotions.recognition.support import shared_tiny_model_dir
from tests.factories import PASSWORD, StaffFactory, UserFactory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artifact directory with a tiny trained-for-one-step model (pipeline checks, not accuracy)."""
    return shared_tiny_model_dir(tmp_path_factory)


@pytest.fixture
def recognition_model(settings, tiny_model_dir: Path) -> Path:
    """The process's pipeline classifies with the tiny model (reset when the test ends)."""
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    return tiny_model_dir


@pytest.fixture
def data_root(settings, tmp_path) -> Path:
    """A data root with one small .npz that admins may pick for retraining."""
    root = tmp_path / "data"
    root.mkdir()
    np.savez(root / "faces.npz", pixels=np.zeros((7, 48, 48), np.uint8), emotion=np.arange(7, dtype=np.uint8))
    settings.TRAINING_DATA_ROOTS = [root]
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    return root


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff(db):
    return StaffFactory(username="admin")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Rate-limit counts and live-socket slots live in the cache (Redis in CI): each test gets its own
    key prefix there, so it starts clean without flushing a Redis database others may share."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
                       for name, config in settings.CACHES.items()}


# --- REST API clients ---


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
