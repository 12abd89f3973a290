"""Fine-tuning from a trained network (`--init-from`) and stochastic weight averaging (`--swa-start`)."""

import json
import shutil

import keras
import numpy as np
import pytest
from django.core.management import call_command

from training.core.data import FaceDataset
from training.core.ensemble import write_ensemble
from training.core.trainer import (
    TrainConfig,
    initial_network,
    recompute_batch_norm,
    scheduled_learning_rate,
    train,
)


def tiny_config(data, out, **overrides) -> TrainConfig:
    options = {"architecture": "tiny", "epochs": 1, "batch_size": 16, "jit_compile": False, "command": "first"}
    return TrainConfig(data=str(data), out=str(out), **{**options, **overrides})


def _weights(path) -> list[np.ndarray]:
    return keras.models.load_model(path, compile=False).get_weights()


def test_fine_tuning_starts_from_the_chosen_member_of_an_ensemble(tiny_npz, tmp_path):
    train(tiny_config(tiny_npz, tmp_path / "a", seed=1, command="train a"), verbose=0, evaluate_at_end=False)
    train(tiny_config(tiny_npz, tmp_path / "b", seed=2, command="train b"), verbose=0, evaluate_at_end=False)
    write_ensemble([tmp_path / "a", tmp_path / "b"], tmp_path / "ens", command="combine")

    start = initial_network(TrainConfig(data="", out="", architecture="fernet", init_from=str(tmp_path / "ens"),
                                        init_member=2))
    assert start.architecture == "tiny" and start.model.name == "tiny"
    assert start.commands == ["train b"]
    for got, expected in zip(start.model.get_weights(), _weights(tmp_path / "b" / "model.keras"), strict=True):
        np.testing.assert_array_equal(got, expected)

    with pytest.raises(ValueError, match="holds 2 network"):
        initial_network(TrainConfig(data="", out="", init_from=str(tmp_path / "ens"), init_member=3))


def test_a_fine_tuned_run_records_the_commands_of_the_network_it_started_from(tiny_npz, tmp_path):
    train(tiny_config(tiny_npz, tmp_path / "a", command="train a"), verbose=0, evaluate_at_end=False)
    out = tmp_path / "tuned"
    call_command("train", "--data", str(tiny_npz), "--out", str(out), "--architecture", "seed",
                 "--init-from", str(tmp_path / "a"), "--epochs", "1", "--batch-size", "16", "--no-jit",
                 verbosity=0)
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "tiny"  # the source network's, not the one asked for
    assert config["init_from"] == str(tmp_path / "a")
    assert len(config["commands"]) == 2 and config["commands"][0] == "train a"
    assert keras.models.load_model(out / "model.keras", compile=False).name == "tiny"

    # A resume continues from the checkpoint, even when the network it started from is gone.
    shutil.rmtree(tmp_path / "a")
    call_command("train", "--data", str(tiny_npz), "--out", str(out), "--architecture", "seed",
                 "--init-from", str(tmp_path / "a"), "--epochs", "2", "--batch-size", "16", "--no-jit",
                 "--resume", verbosity=0)
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "tiny" and len(config["commands"]) == 3
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_weights_are_averaged_over_the_epochs_after_swa_start_across_a_resume(tiny_npz, tmp_path):
    out = tmp_path / "swa"
    config = tiny_config(tiny_npz, out, epochs=1, swa_start=0, learning_rate=0.05, schedule="constant")
    first = train(config, verbose=0, evaluate_at_end=False)
    after_one = _weights(out / "checkpoint" / "last.keras")
    assert first.state.swa_epochs == 1 and first.state.swa["epochs_averaged"] == 1

    resumed = train(tiny_config(tiny_npz, out, epochs=2, swa_start=0, learning_rate=0.05, schedule="constant"),
                    resume=True, verbose=0)
    after_two = _weights(out / "checkpoint" / "last.keras")
    with np.load(out / "checkpoint" / "swa.npz") as stored:
        average = [stored[f"w{index}"] for index in range(len(stored.files))]
    for mean, one, two in zip(average, after_one, after_two, strict=True):
        np.testing.assert_allclose(mean, (one + two) / 2, rtol=1e-5, atol=1e-6)

    swa = resumed.state.swa
    assert swa["epochs_averaged"] == 2 and resumed.metrics["swa"] == swa
    # The new average competes with the model kept so far: the best epoch or the first run's average.
    kept_before = max([row["val_accuracy"] for row in resumed.state.history] + [first.state.swa["val_accuracy"]])
    assert swa["chosen"] == (swa["val_accuracy"] > kept_before)


def test_without_swa_start_nothing_is_averaged(tiny_npz, tmp_path):
    result = train(tiny_config(tiny_npz, tmp_path / "run"), verbose=0)
    assert result.state.swa is None and "swa" not in result.metrics
    assert not (tmp_path / "run" / "checkpoint" / "swa.npz").exists()


def test_batch_norm_statistics_become_the_mean_over_the_batches():
    inputs = keras.Input((48, 48, 1))
    norm = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(norm(inputs)))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(30, 48, 48), dtype=np.uint8)
    pixels[10:20] //= 4  # batches with different statistics
    recompute_batch_norm(model, FaceDataset(pixels, np.zeros(30, np.uint8)), batch_size=10)

    batches = pixels.astype(np.float64).reshape(3, -1)
    np.testing.assert_allclose(norm.moving_mean.numpy(), [batches.mean(axis=1).mean()], rtol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), [batches.var(axis=1).mean()], rtol=1e-4)
    assert norm.momentum == 0.99


def test_constant_schedule_keeps_the_rate_after_the_warm_up():
    config = TrainConfig(data="", out="", epochs=5, learning_rate=2e-4, schedule="constant", warmup_epochs=1)
    assert [scheduled_learning_rate(config, epoch) for epoch in range(5)] == pytest.approx([1e-4] + [2e-4] * 4)
