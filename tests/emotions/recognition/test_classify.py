import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from emotions.recognition import EMOTIONS, EmotionClassifier
from training.core.labels import LabelMismatchError


def faces(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 48, 48), dtype=np.uint8)


@pytest.mark.parametrize("count", [1, 8])
def test_returns_one_probability_row_per_face(classifier, count):
    probabilities = classifier.classify(faces(count))
    assert probabilities.shape == (count, len(EMOTIONS))
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_all_faces_go_through_one_invoke(classifier, monkeypatch):
    invokes = []
    interpreter = classifier._interpreter
    original = interpreter.invoke
    monkeypatch.setattr(interpreter, "invoke", lambda: invokes.append(1) or original())
    classifier.classify(faces(8))
    assert invokes == [1]


def test_batch_results_match_single_results(classifier):
    batch = faces(5, seed=3)
    together = classifier.classify(batch)
    one_by_one = np.concatenate([classifier.classify(batch[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_no_faces_gives_no_rows(classifier):
    assert classifier.classify(np.zeros((0, 48, 48), np.uint8)).shape == (0, len(EMOTIONS))


def test_refuses_crops_of_the_wrong_size(classifier):
    with pytest.raises(ValueError, match=r"\(N, 48, 48\)"):
        classifier.classify(np.zeros((2, 64, 64), np.uint8))


def test_can_be_called_from_several_threads_at_once(classifier):
    batches = [faces(count, seed=seed) for seed, count in enumerate([1, 3, 8, 2, 1, 5, 8, 4] * 4)]
    expected = [classifier.classify(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(classifier.classify, batches))
    for got, wanted in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, wanted, atol=1e-5)


def test_refuses_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="emotion model not found"):
        EmotionClassifier(tmp_path / "model.tflite")


def test_threads_are_configurable(tiny_model_dir):
    classifier = EmotionClassifier(tiny_model_dir / "model.tflite", num_threads=2)
    assert classifier.num_threads == 2
    assert classifier.classify(faces(2)).shape == (2, 7)


def copy_with_config(tiny_model_dir, folder, config: dict):
    folder.mkdir()
    shutil.copy(tiny_model_dir / "model.tflite", folder / "model.tflite")
    (folder / "config.json").write_text(json.dumps(config))
    return folder / "model.tflite"


def test_refuses_a_model_whose_labels_are_not_ours(tiny_model_dir, tmp_path):
    """Seven outputs are not enough: in another order they would be read as the wrong emotions."""
    model = copy_with_config(tiny_model_dir, tmp_path / "other", {"labels": list(reversed(EMOTIONS))})
    with pytest.raises(LabelMismatchError, match="the model's classes are neutral, surprise"):
        EmotionClassifier(model)


@pytest.mark.parametrize("config", [{"architecture": "tiny"}, {"labels": list(EMOTIONS)}])
def test_loads_a_model_with_our_labels_or_an_old_config_without_them(tiny_model_dir, tmp_path, config):
    model = copy_with_config(tiny_model_dir, tmp_path / "ours", config)
    assert EmotionClassifier(model).classify(faces(1)).shape == (1, len(EMOTIONS))


def test_scores_are_rescaled_by_the_temperature_the_model_records(tiny_model_dir, tmp_path):
    from training.core.calibration import apply_temperature, write_calibration

    shutil.copy(tiny_model_dir / "model.tflite", tmp_path / "model.tflite")
    batch = faces(4, seed=5)
    raw = EmotionClassifier(tmp_path / "model.tflite").classify(batch)
    (tmp_path / "config.json").write_text("{}")
    write_calibration(tmp_path / "model.tflite", {"temperature": 2.5})
    calibrated = EmotionClassifier(tmp_path / "model.tflite").classify(batch)
    np.testing.assert_allclose(calibrated, apply_temperature(raw, 2.5), atol=1e-6)
    assert (calibrated.argmax(axis=1) == raw.argmax(axis=1)).all()
    assert calibrated.max() < raw.max()  # a temperature above 1 softens
