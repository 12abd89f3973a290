"""Calibrated scores: fitting a temperature, measuring calibration, recording it in a model's config."""

import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from training.core.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    log_loss,
    model_temperature,
    write_calibration,
)
from training.core.data import load_dataset
from training.core.evaluate import calibrate_model, evaluate_split, predict_probabilities


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def overconfident_predictions(sharpness: float, count: int = 20000, seed: int = 0):
    """Labels drawn from softmax(z), and a model that reports softmax(sharpness * z): calibrated at 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (count, 7))
    truth = softmax(logits)
    labels = np.array([rng.choice(7, p=row) for row in truth])
    return softmax(sharpness * logits), labels


def test_the_fit_recovers_the_temperature_that_undoes_overconfidence():
    probabilities, labels = overconfident_predictions(2.0)
    assert fit_temperature(probabilities, labels) == pytest.approx(2.0, rel=0.05)


def test_a_temperature_keeps_every_winner_and_lowers_the_calibration_error():
    probabilities, labels = overconfident_predictions(2.0)
    calibrated = apply_temperature(probabilities, fit_temperature(probabilities, labels))
    assert (calibrated.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    np.testing.assert_allclose(calibrated.sum(axis=1), 1, atol=1e-5)
    assert expected_calibration_error(probabilities, labels) > 0.1
    assert expected_calibration_error(calibrated, labels) < 0.02
    assert log_loss(calibrated, labels) < log_loss(probabilities, labels)


def test_temperature_one_gives_the_scores_back():
    probabilities, _ = overconfident_predictions(1.0, count=10)
    np.testing.assert_allclose(apply_temperature(probabilities, 1.0), probabilities, atol=1e-6)


def test_a_calibrated_model_scores_zero_error_per_bin():
    # Every face said 75 % happy, and three of four are happy: confidence matches accuracy.
    probabilities = np.tile([0.05, 0.05, 0.05, 0.75, 0.05, 0.025, 0.025], (4, 1))
    assert expected_calibration_error(probabilities, np.array([3, 3, 3, 0])) == pytest.approx(0)
    assert expected_calibration_error(probabilities, np.array([3, 0, 0, 0])) == pytest.approx(0.5)


def test_the_temperature_is_read_per_model_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"live_variant": {"file": "model_live.tflite"}}))
    assert model_temperature(tmp_path / "model.tflite") == 1.0  # never calibrated
    write_calibration(tmp_path / "model.tflite", {"temperature": 0.8})
    write_calibration(tmp_path / "model_live.tflite", {"temperature": 1.3})
    assert model_temperature(tmp_path / "model.tflite") == 0.8
    assert model_temperature(tmp_path / "model_live.tflite") == 1.3
    with pytest.raises(ValueError, match=r"other\.tflite"):
        write_calibration(tmp_path / "other.tflite", {"temperature": 1.1})


def test_an_absurd_temperature_in_a_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"calibration": {"temperature": 0}}))
    with pytest.raises(ValueError, match="temperature"):
        model_temperature(tmp_path / "model.tflite")


@pytest.fixture
def model_dir(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.tflite").write_bytes((tiny_model_dir / "model.tflite").read_bytes())
    (folder / "config.json").write_text(json.dumps({"architecture": "tiny"}))
    return folder


def test_calibrating_records_the_fit_and_evaluation_reports_it(model_dir, tiny_npz):
    dataset = load_dataset(tiny_npz)
    recorded = calibrate_model(model_dir, dataset, "PublicTest", data_path=str(tiny_npz), command="test")
    config = json.loads((model_dir / "config.json").read_text())
    assert config["calibration"] == recorded
    assert recorded["fitted_on"] == f"PublicTest of {tiny_npz} (21 faces)"
    assert recorded["temperature"] == (recorded["fitted_temperature"] if recorded["adopted"] else 1.0)
    assert recorded["ece_after"] <= recorded["ece_before"]

    metrics = evaluate_split(model_dir, dataset, "PrivateTest", data_path=str(tiny_npz))
    raw = predict_probabilities(model_dir, dataset.split("PrivateTest").pixels)
    labels = dataset.split("PrivateTest").labels
    assert metrics["calibration"]["temperature"] == recorded["temperature"]
    assert metrics["calibration"]["fitted_split"] == recorded["fitted_split"] == "PublicTest"
    assert metrics["calibration"]["ece_before"] == pytest.approx(expected_calibration_error(raw, labels))
    calibrated = apply_temperature(raw, recorded["temperature"])
    assert metrics["calibration"]["ece_after"] == pytest.approx(expected_calibration_error(calibrated, labels))


def test_a_temperature_that_does_not_help_is_not_adopted(model_dir, tiny_npz, monkeypatch):
    sharper = 0.2  # a guessing model only grows more wrong about its confidence
    monkeypatch.setattr("training.core.calibration.fit_temperature", lambda probabilities, labels: sharper)
    recorded = calibrate_model(model_dir, load_dataset(tiny_npz), "PublicTest", command="test")
    assert recorded["fitted_temperature"] == 0.2
    assert not recorded["adopted"]
    assert recorded["temperature"] == 1.0
    assert recorded["fitted"]["temperature"] == 0.2  # the refused fit's figures are kept
    assert recorded["fitted"]["ece_after"] >= recorded["fitted"]["ece_before"]
    assert model_temperature(model_dir / "model.tflite") == 1.0


def test_the_command_refuses_to_fit_on_the_reporting_split(model_dir, tiny_npz):
    with pytest.raises(CommandError):
        call_command("calibrate", "--model", str(model_dir), "--data", str(tiny_npz), "--split", "PrivateTest")
    with pytest.raises(ValueError, match="PrivateTest is for reporting only"):
        calibrate_model(model_dir, load_dataset(tiny_npz), "PrivateTest")
    with pytest.raises(ValueError, match="trained on Training"):
        calibrate_model(model_dir, load_dataset(tiny_npz), "Training")
    assert "calibration" not in json.loads((model_dir / "config.json").read_text())


def test_a_data_set_without_splits_is_refused(model_dir, tmp_path):
    """Without a held-out split the fit could run on faces the network was trained on."""
    from tests.training.conftest import make_faces

    pixels, labels = make_faces(40)
    data = tmp_path / "nosplits.npz"
    np.savez(data, pixels=pixels, emotion=labels)
    with pytest.raises(CommandError, match="has no splits"):
        call_command("calibrate", "--model", str(model_dir), "--data", str(data))
    assert "calibration" not in json.loads((model_dir / "config.json").read_text())


def test_the_live_variant_is_evaluated_into_its_own_metrics_file(model_dir, tiny_npz):
    (model_dir / "model_live.tflite").write_bytes((model_dir / "model.tflite").read_bytes())
    (model_dir / "config.json").write_text(json.dumps({"architecture": "tiny",
                                                       "live_variant": {"file": "model_live.tflite"}}))
    call_command("evaluate", "--model", str(model_dir), "--data", str(tiny_npz), "--file", "model_live.tflite")
    assert json.loads((model_dir / "metrics_live.json").read_text())["n"] == 21
    assert not (model_dir / "metrics.json").exists()
