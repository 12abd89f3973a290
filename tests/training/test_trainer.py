import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from training.core.data import load_npz
from training.core.evaluate import predict_probabilities
from training.core.labels import EMOTIONS
from training.core.trainer import TrainConfig, scheduled_learning_rate, train


def tiny_config(data, out, **overrides) -> TrainConfig:
    options = {"architecture": "tiny", "epochs": 1, "batch_size": 16, "jit_compile": False, "command": "test"}
    return TrainConfig(data=str(data), out=str(out), **{**options, **overrides})


def test_train_export_load_predict_round_trip(tiny_npz, tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config(tiny_npz, out), verbose=0)
    for name in ("model.keras", "model.tflite", "history.json", "metrics.json", "config.json", "command.txt",
                 "checkpoint/last.keras", "state.json", "metrics_confusion.png", "metrics_curves.png"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "PrivateTest" and metrics["n"] == 21
    assert metrics["training"]["seed"] == 1 and metrics["training"]["command"] == "test"
    assert json.loads((out / "config.json").read_text())["labels"] == list(EMOTIONS)
    assert result.metrics["accuracy"] == metrics["accuracy"]

    # The TFLite export gives the same probabilities as the Keras model it came from.
    import keras

    faces = load_npz(tiny_npz).split("PrivateTest").pixels
    exported = predict_probabilities(out, faces)
    original = keras.models.load_model(out / "model.keras").predict(faces[..., None].astype(np.float32), verbose=0)
    np.testing.assert_allclose(exported, original, atol=1e-4)


def test_the_kept_network_is_saved_without_the_optimizer_state(tiny_npz, tmp_path):
    """Only the checkpoint resumes training; model.keras is what ensembles and exports read."""
    import zipfile

    import keras

    out = tmp_path / "run"
    train(tiny_config(tiny_npz, out), verbose=0, evaluate_at_end=False)
    kept, checkpoint = keras.models.load_model(out / "model.keras"), keras.models.load_model(
        out / "checkpoint" / "last.keras")
    assert not kept.compiled and checkpoint.compiled and checkpoint.optimizer.iterations.numpy() > 0
    for model_file in (out / "model.keras", out / "checkpoint" / "last.keras"):
        with zipfile.ZipFile(model_file) as archive:
            assert ("optimizer" in archive.read("config.json").decode()) == (model_file.parent.name == "checkpoint")
    np.testing.assert_allclose(kept.get_weights()[0], checkpoint.get_weights()[0])


def test_a_set_without_splits_is_trained_and_reported_on_held_out_rows(tmp_path):
    """E.g. a flat <emotion>/ folder: the reported accuracy is on rows the network never saw."""
    from tests.training.conftest import make_faces

    pixels, labels = make_faces(140)
    data = tmp_path / "nosplits.npz"
    np.savez(data, pixels=pixels, emotion=labels)
    result = train(tiny_config(data, tmp_path / "run", seed=5), verbose=0)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n"] == 14 and metrics["held_out"] == "PrivateTest: 10% of each class of Training, drawn with seed 5"
    assert result.metrics["accuracy"] == metrics["accuracy"]


# The checkpoint format of runs started before the trainer was split into steps (one may be
# resuming right now): these files, these state.json keys.
CHECKPOINT_FILES = ("checkpoint/last.keras", "state.json", "history.json", "config.json")
STATE_KEYS = {"epoch", "history", "best_val_accuracy", "best_epoch", "plateau_wait", "plateau_best",
              "learning_rate", "stopped_early", "swa_epochs", "swa"}


def test_resume_continues_from_the_checkpoint(tiny_npz, tmp_path, caplog):
    out = tmp_path / "run"
    train(tiny_config(tiny_npz, out), verbose=0, evaluate_at_end=False)
    assert all((out / name).is_file() for name in CHECKPOINT_FILES)
    assert set(json.loads((out / "state.json").read_text())) == STATE_KEYS
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="training.core.trainer"):
        resumed = train(tiny_config(tiny_npz, out, epochs=2), resume=True, verbose=0, evaluate_at_end=False)
    messages = [record.getMessage() for record in caplog.records if record.name == "training.core.trainer"]
    assert "resuming after epoch 1" in messages[0]
    assert messages[1].startswith("epoch 2/2 loss ")  # the line a CLI run and a worker's log show
    assert resumed.state.epoch == 2
    assert [row["epoch"] for row in resumed.state.history] == [1, 2]
    config = json.loads((out / "config.json").read_text())
    assert config["commands"] == ["test", "test"] and config["epochs"] == 2


def test_plateau_lowers_learning_rate_and_early_stopping_stops(tiny_npz, tmp_path):
    config = tiny_config(tiny_npz, tmp_path / "run", epochs=6, learning_rate=1e-7, min_learning_rate=0.0,
                         plateau_patience=1,
                         early_stopping_patience=2, class_weights=True)
    result = train(config, verbose=0, evaluate_at_end=False)
    # With the least learning rate nothing improves after the first epoch: stop after two more.
    assert result.state.stopped_early
    assert result.state.epoch == 3


def test_train_command_writes_artifacts(tiny_npz, tmp_path):
    out = tmp_path / "cmd"
    call_command("train", "--data", str(tiny_npz), "--out", str(out), "--architecture", "tiny", "--epochs", "1",
                 "--batch-size", "16", "--no-jit", "--seed", "7", verbosity=0)
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 7 and config["architecture"] == "tiny"
    assert (out / "model.tflite").stat().st_size > 0


def test_cosine_schedule_warms_up_then_anneals_to_the_floor():
    config = TrainConfig(data="", out="", epochs=10, learning_rate=1e-3, min_learning_rate=1e-5,
                         schedule="cosine", warmup_epochs=2)
    rates = [scheduled_learning_rate(config, epoch) for epoch in range(12)]
    np.testing.assert_allclose(rates[:3], [1e-3 / 3, 2e-3 / 3, 1e-3])
    after_warmup = rates[2:10]
    assert all(a > b for a, b in itertools.pairwise(after_warmup))
    assert rates[6] == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)  # half way through the cosine
    assert rates[10] == rates[11] == pytest.approx(1e-5)


def test_cosine_run_uses_the_scheduled_rate_each_epoch(tiny_npz, tmp_path):
    config = tiny_config(tiny_npz, tmp_path / "run", epochs=3, schedule="cosine", warmup_epochs=1)
    result = train(config, verbose=0, evaluate_at_end=False)
    recorded = [row["learning_rate"] for row in result.state.history]
    np.testing.assert_allclose(recorded, [scheduled_learning_rate(config, e) for e in range(3)], rtol=1e-6)


def test_unknown_schedule_is_refused(tiny_npz, tmp_path):
    with pytest.raises(ValueError, match="schedule: choose one of plateau, cosine, constant"):
        train(tiny_config(tiny_npz, tmp_path / "run", schedule="linear"), verbose=0)


def test_final_metrics_leave_out_test_images_also_in_training(tiny_npz, tmp_path):
    data = dict(np.load(tiny_npz))
    private = np.flatnonzero(data["usage"] == 2)
    data["pixels"][private[:3]] = data["pixels"][:3]  # three PrivateTest faces copied from Training
    path = tmp_path / "overlap.npz"
    np.savez(path, **data)
    result = train(tiny_config(path, tmp_path / "run"), verbose=0)
    assert result.metrics["without_train_overlap"]["excluded"] == 3
    assert result.metrics["without_train_overlap"]["n"] == len(private) - 3


def test_a_resumed_run_draws_new_batches_instead_of_replaying_its_first_epochs():
    from tests.training.conftest import make_faces
    from training.core.data import FaceDataset
    from training.core.trainer import training_stream

    pixels, labels = make_faces(64)
    data = FaceDataset(pixels, labels)
    config = TrainConfig(data="", out="", batch_size=64, seed=3)

    def first_batch(first_epoch: int) -> np.ndarray:
        images, _ = next(iter(training_stream(data, config, first_epoch=first_epoch)))
        return images.numpy()

    np.testing.assert_array_equal(first_batch(0), first_batch(0))  # a run is reproducible from its seed
    assert not np.allclose(first_batch(0), first_batch(10))  # a run resumed after epoch 10 sees new draws


def test_a_bfloat16_run_resumes_and_saves_a_float32_network_that_exports(tiny_npz, tmp_path):
    import keras

    out = tmp_path / "run"
    config = tiny_config(tiny_npz, out, precision="mixed_bfloat16", swa_start=0)
    keras.mixed_precision.set_global_policy("mixed_float16")  # whatever the process had before
    try:
        train(config, verbose=0, evaluate_at_end=False)
        assert keras.mixed_precision.global_policy().name == "mixed_float16"  # is given back
    finally:
        keras.mixed_precision.set_global_policy("float32")
    checkpoint = keras.models.load_model(out / "checkpoint" / "last.keras")
    assert checkpoint.layers[-2].compute_dtype == "bfloat16"  # the resumable run computes in bfloat16
    resumed = train(tiny_config(tiny_npz, out, epochs=2, precision="mixed_bfloat16", swa_start=0),
                    resume=True, verbose=0)
    assert resumed.state.epoch == 2 and resumed.state.swa is not None
    saved = keras.models.load_model(out / "model.keras")
    assert {layer.compute_dtype for layer in saved.layers if layer.weights} == {"float32"}
    faces = load_npz(tiny_npz).split("PrivateTest").pixels
    exported = predict_probabilities(out, faces)
    np.testing.assert_allclose(exported, saved.predict(faces[..., None].astype(np.float32), verbose=0), atol=1e-4)
    assert resumed.metrics["n"] == 21


def test_a_bfloat16_run_augments_in_float32_and_resumes_only_in_bfloat16(tiny_npz, tmp_path):
    """The augmentation layers are not part of the network: their images stay float32."""
    import keras

    from training.core.trainer import build_or_resume

    out = tmp_path / "run"
    try:
        run = build_or_resume(tiny_config(tiny_npz, out, precision="mixed_bfloat16"), resume=False)
        images, _ = next(iter(run.train_stream))
        assert images.dtype.name == "float32"
        assert run.model.layers[-2].compute_dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    train(tiny_config(tiny_npz, out, precision="mixed_bfloat16"), verbose=0, evaluate_at_end=False)
    with pytest.raises(ValueError, match="--precision mixed_bfloat16"):
        train(tiny_config(tiny_npz, out, epochs=2), resume=True, verbose=0)


def test_a_resumed_run_may_switch_xla_off(tiny_npz, tmp_path):
    from training.core.trainer import build_or_resume

    out = tmp_path / "run"
    train(tiny_config(tiny_npz, out, jit_compile=True), verbose=0, evaluate_at_end=False)
    resumed = build_or_resume(tiny_config(tiny_npz, out, epochs=2, jit_compile=False), resume=True)
    assert resumed.state.epoch == 1 and resumed.model.jit_compile is False


def test_a_save_killed_midway_leaves_the_previous_checkpoint_whole(tmp_path):
    import keras

    from training.core import architectures
    from training.core.artifacts import write_whole

    checkpoint = tmp_path / "last.keras"
    write_whole(checkpoint, architectures.build("tiny").save)
    saved = checkpoint.read_bytes()

    class KilledWhileSaving:
        def save(self, path):
            Path(path).write_bytes(saved[: len(saved) // 2])  # half a zip, then the worker dies
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_whole(checkpoint, KilledWhileSaving().save)
    assert checkpoint.read_bytes() == saved
    assert keras.models.load_model(checkpoint).name == "tiny"
