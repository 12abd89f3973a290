import json

import numpy as np
from django.core.management import call_command

from training.core.data import load_npz
from training.core.evaluate import predict_probabilities
from training.core.trainer import TrainConfig, train


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
    assert result.metrics["accuracy"] == metrics["accuracy"]

    # The TFLite export gives the same probabilities as the Keras model it came from.
    import keras

    faces = load_npz(tiny_npz).split("PrivateTest").pixels
    exported = predict_probabilities(out, faces)
    original = keras.models.load_model(out / "model.keras").predict(faces[..., None].astype(np.float32), verbose=0)
    np.testing.assert_allclose(exported, original, atol=1e-4)


def test_resume_continues_from_the_checkpoint(tiny_npz, tmp_path):
    out = tmp_path / "run"
    train(tiny_config(tiny_npz, out), verbose=0, evaluate_at_end=False)
    resumed = train(tiny_config(tiny_npz, out, epochs=2), resume=True, verbose=0, evaluate_at_end=False)
    assert resumed.state.epoch == 2
    assert [row["epoch"] for row in resumed.state.history] == [1, 2]
    config = json.loads((out / "config.json").read_text())
    assert config["commands"] == ["test", "test"] and config["epochs"] == 2


def test_plateau_lowers_learning_rate_and_early_stopping_stops(tiny_npz, tmp_path):
    config = tiny_config(tiny_npz, tmp_path / "run", epochs=6, learning_rate=0.0, plateau_patience=1,
                         early_stopping_patience=2, class_weights=True)
    result = train(config, verbose=0, evaluate_at_end=False)
    # With a zero learning rate nothing improves after the first epoch: stop after two more.
    assert result.state.stopped_early
    assert result.state.epoch == 3


def test_train_command_writes_artifacts(tiny_npz, tmp_path):
    out = tmp_path / "cmd"
    call_command("train", "--data", str(tiny_npz), "--out", str(out), "--architecture", "tiny", "--epochs", "1",
                 "--batch-size", "16", "--no-jit", "--seed", "7", verbosity=0)
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 7 and config["architecture"] == "tiny"
    assert (out / "model.tflite").stat().st_size > 0
