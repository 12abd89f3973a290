import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connections
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


@pytest.fixture
def shared_database(tmp_path) -> Iterator[str]:
    """A DATABASE_URL for another process (a worker, a server) that reaches the database the test uses.

    PostgreSQL: pytest-django's test database (test_<name>). SQLite: the test database lives in
    memory, which another process cannot open, so the test's connection is pointed at a migrated
    file instead (the tests using this need `django_db(transaction=True)`)."""
    connection = connections["default"]
    config = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(config["USER"] or "") + (f":{quote(config['PASSWORD'])}" if config["PASSWORD"] else "")
        yield f"postgres://{credentials}@{config['HOST'] or 'localhost'}:{config['PORT'] or 5432}/{config['NAME']}"
        return
    assert connection.vendor == "sqlite"
    path = tmp_path / "shared.sqlite3"
    in_memory, name = connection.connection, config["NAME"]
    connection.connection = None  # keep the in-memory test database alive, aside, for the tests after this one
    config["NAME"] = str(path)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        config["NAME"] = name
        connection.connection = in_memory


@pytest.fixture(autouse=True, scope="session")
def _close_the_detection_writers_connection(django_db_setup) -> Iterator[None]:
    """The live detection writer keeps its connection open (emotions.consumers): close it before
    pytest-django drops the test database."""
    yield
    from emotions.live_writer import close_writer_connection

    close_writer_connection()


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
