"""The model registry: the shipped model registered on migrate, exactly one active version, activation
reaching this process's pipeline (signal) and every consumer (channel-layer group "recognition")."""

import json
import shutil

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_migrate

from emotions import active_model
from emotions.consumers import RECOGNITION_GROUP
from tests.factories import ModelVersionFactory
from training import selectors
from training.core import options
from training.models import ModelVersion
from training.services import registry
from training.services.registry import register_shipped_model_after_migrate

pytestmark = pytest.mark.django_db



@pytest.fixture
def model_dir(tmp_path, tiny_model_dir):
    """A copy of the tiny model as a complete artifact directory, with config.json and metrics.json."""
    def make(name: str):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(tiny_model_dir / "model.tflite", folder / "model.tflite")
        (folder / "config.json").write_text(json.dumps({"architecture": "tiny", "data": "/d/fer.npz", "epochs": 2}))
        (folder / "metrics.json").write_text(json.dumps({
            "accuracy": 0.61, "macro_f1": 0.55, "split": "PrivateTest", "data": "/d/fer.npz",
            "per_class": {"happy": {"f1": 0.8}}, "confusion_matrix": [[1]], "training": {"dup": True},
        }))
        return folder
    return make


@pytest.fixture
def fresh_pipeline():
    active_model.reset_pipeline()
    yield
    active_model.reset_pipeline()


@pytest.fixture
def empty_registry():
    ModelVersion.objects.all().delete()


def test_shipped_model_is_registered_active_and_idempotently(settings, model_dir, empty_registry):
    settings.EMOTION_MODEL_DIR = model_dir("shipped")
    version = registry.register_shipped_model()
    assert version.name == "shipped" and version.is_active and version.is_shipped
    assert version.architecture == "tiny" and version.split == "PrivateTest" and version.dataset == "/d/fer.npz"
    assert version.accuracy == 0.61 and version.per_class_f1 == {"happy": 0.8} and "training" not in version.metrics
    assert version.training_config["epochs"] == 2
    registry.register_shipped_model()
    assert ModelVersion.objects.count() == 1 and selectors.active_model_version() == version


def test_shipped_model_stays_inactive_when_another_version_is_active(settings, model_dir, empty_registry):
    other = ModelVersionFactory(is_active=True)
    settings.EMOTION_MODEL_DIR = model_dir("shipped")
    assert not registry.register_shipped_model().is_active
    assert selectors.active_model_version() == other


def test_missing_shipped_model_registers_nothing(settings, tmp_path, empty_registry):
    settings.EMOTION_MODEL_DIR = tmp_path / "not-there-yet"
    assert registry.register_shipped_model() is None
    assert not ModelVersion.objects.exists() and selectors.active_model_version() is None


def test_post_migrate_registers_the_shipped_model(settings, model_dir, empty_registry):
    assert any(entry[1]() is register_shipped_model_after_migrate for entry in post_migrate.receivers)
    settings.EMOTION_MODEL_DIR = model_dir("shipped")
    register_shipped_model_after_migrate(sender=None, app_config=apps.get_app_config("emotions"))
    assert not ModelVersion.objects.exists()  # only once per migrate: for the training app
    register_shipped_model_after_migrate(sender=None, app_config=apps.get_app_config("training"))
    assert ModelVersion.objects.get().name == "shipped"


def test_the_database_allows_one_active_version_only(empty_registry):
    ModelVersionFactory(is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(is_active=True)


def test_activation_switches_exactly_one_and_broadcasts_on_commit(model_dir, empty_registry, fresh_pipeline,
                                                                  django_capture_on_commit_callbacks):
    old = ModelVersionFactory(artifact_dir=str(model_dir("old")), is_active=True)
    new = ModelVersionFactory(name="fer-v2", artifact_dir=str(model_dir("fer-v2")))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(RECOGNITION_GROUP, channel)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            registry.activate_model_version(new)
            assert active_model.current_model_dir() != new.artifact_dir  # nothing happens before the commit
        assert len(callbacks) == 1
        callbacks[0]()
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(RECOGNITION_GROUP, channel)
    assert message == {"type": "model.activated", "model_dir": new.artifact_dir, "label": "fer-v2"}
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.is_active and new.is_active and new.activated_at is not None
    # This process switched through the model_activated signal; new sessions record the version.
    assert str(active_model.current_model_dir()) == new.artifact_dir
    assert active_model.current_model_label() == "fer-v2"


def test_a_version_without_model_file_is_not_activated(empty_registry):
    current = ModelVersionFactory(is_active=True)
    broken = ModelVersionFactory(artifact_dir="/nonexistent")
    with pytest.raises(ValidationError, match=r"no model\.tflite"):
        registry.activate_model_version(broken)
    assert selectors.active_model_version() == current


def test_a_model_whose_labels_are_not_ours_is_neither_registered_nor_activated(model_dir, empty_registry):
    folder = model_dir("other-labels")
    (folder / "config.json").write_text(json.dumps({"architecture": "tiny", "labels": ["cat", "dog"]}))
    with pytest.raises(ValidationError, match=r"other-labels cannot be registered: .* classes are cat, dog"):
        registry.register_model_version(name="other-labels", artifact_dir=folder)
    version = ModelVersionFactory(name="other", artifact_dir=str(folder))
    with pytest.raises(ValidationError, match=r"other cannot be activated: .* classes are cat, dog"):
        registry.activate_model_version(version)
    assert not ModelVersion.objects.filter(is_active=True, pk=version.pk).exists()


@pytest.mark.parametrize("temperature", ["warm", None, float("nan"), 0, 1e9])
def test_a_model_whose_temperature_cannot_be_applied_is_neither_registered_nor_activated(
        model_dir, empty_registry, temperature):
    folder = model_dir("bad-temperature")
    config = {"architecture": "tiny", "calibration": {"temperature": temperature}}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValidationError, match=r"bad-temperature cannot be registered: .*temperature"):
        registry.register_model_version(name="bad-temperature", artifact_dir=folder)
    version = ModelVersionFactory(name="bad", artifact_dir=str(folder))
    with pytest.raises(ValidationError, match=r"bad cannot be activated: .*temperature"):
        registry.activate_model_version(version)


def test_a_live_variant_whose_temperature_cannot_be_applied_is_refused(model_dir, empty_registry):
    """Live sessions load the live variant: its temperature is checked as the main model's is."""
    folder = model_dir("bad-live")
    (folder / "model_live.tflite").write_bytes((folder / "model.tflite").read_bytes())
    live = {"file": "model_live.tflite", "calibration": {"temperature": "x"}}
    config = {"architecture": "tiny", "live_variant": live}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValidationError, match=r"bad-live cannot be registered: .*model_live\.tflite"):
        registry.register_model_version(name="bad-live", artifact_dir=folder)


def test_a_new_process_starts_with_the_active_version(settings, model_dir, empty_registry, fresh_pipeline):
    settings.EMOTION_MODEL_DIR = model_dir("configured")
    active_model.reset_pipeline()
    version = ModelVersionFactory(name="fer-v3", artifact_dir=str(model_dir("fer-v3")), is_active=True)
    active_model.get_pipeline()
    assert str(active_model.current_model_dir()) == version.artifact_dir
    assert active_model.current_model_label() == "fer-v3"


def test_the_shipped_version_follows_the_setting(settings, model_dir, empty_registry, fresh_pipeline):
    ModelVersionFactory(name="shipped", artifact_dir=str(model_dir("shipped")), is_active=True)
    settings.EMOTION_MODEL_DIR = model_dir("configured")
    active_model.reset_pipeline()
    active_model.get_pipeline()
    assert active_model.current_model_dir() == settings.EMOTION_MODEL_DIR
    assert active_model.current_model_label() == "configured"


def test_architectures_listed_without_keras_match_the_core():
    from training.core.architectures import ARCHITECTURES

    assert set(options.ARCHITECTURES) == set(ARCHITECTURES)


def test_available_datasets(settings, tmp_path):
    root = tmp_path / "data"
    (root / "folder" / "train" / "happy").mkdir(parents=True)
    (root / "flat" / "sad").mkdir(parents=True)
    (root / "other" / "stuff").mkdir(parents=True)
    for name in ("a.npz", "b.csv", "notes.txt"):
        (root / name).write_text("x")
    single = tmp_path / "single.npz"
    single.write_text("x")
    settings.TRAINING_DATA_ROOTS = [root, single, tmp_path / "missing"]
    found = {path.relative_to(tmp_path).as_posix() for path in selectors.available_datasets()}
    assert found == {"data/a.npz", "data/b.csv", "data/folder", "data/flat", "single.npz"}


@pytest.mark.django_db(transaction=True)
async def test_activation_reaches_a_connected_live_consumer(settings, user, model_dir, tiny_model_dir,
                                                            fresh_pipeline):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from emotions.routing import websocket_urlpatterns

    settings.EMOTION_MODEL_DIR = tiny_model_dir
    version = await sync_to_async(ModelVersionFactory)(name="fer-live", artifact_dir=str(model_dir("fer-live")))
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=20)
    assert connected
    assert (await communicator.receive_json_from(timeout=20))["type"] == "session"
    try:
        await sync_to_async(registry.activate_model_version)(version)
        assert await communicator.receive_json_from(timeout=20) == {"type": "model", "label": "fer-live"}
        assert str(active_model.current_model_dir()) == version.artifact_dir
    finally:
        await communicator.disconnect(timeout=20)
