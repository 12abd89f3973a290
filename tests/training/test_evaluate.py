import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from training.core.data import load_npz
from training.core.evaluate import compute_metrics, predict_probabilities, ten_crop_views
from training.core.trainer import TrainConfig, train


def test_metrics_reproduce_a_hand_computed_confusion_matrix():
    # truth:      angry angry angry happy happy sad  sad  neutral
    # predicted:  angry happy angry happy happy sad  happy angry
    truth = np.array([0, 0, 0, 3, 3, 4, 4, 6])
    predicted = np.array([0, 3, 0, 3, 3, 4, 3, 0])
    metrics = compute_metrics(truth, predicted)
    expected = np.zeros((7, 7), int)
    expected[0, 0], expected[0, 3] = 2, 1
    expected[3, 3] = 2
    expected[4, 4], expected[4, 3] = 1, 1
    expected[6, 0] = 1
    assert metrics["confusion_matrix"] == expected.tolist()
    assert metrics["accuracy"] == pytest.approx(5 / 8)
    assert metrics["n"] == 8
    # angry: predicted 3 times, 2 right; 3 true, 2 found.
    assert metrics["per_class"]["angry"]["precision"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["angry"]["recall"] == pytest.approx(2 / 3)
    # happy: predicted 4 times, 2 right; 2 true, both found.
    assert metrics["per_class"]["happy"]["precision"] == pytest.approx(0.5)
    assert metrics["per_class"]["happy"]["f1"] == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert metrics["per_class"]["neutral"]["recall"] == 0
    assert metrics["per_class"]["disgust"]["support"] == 0


@pytest.fixture
def trained_dir(tiny_npz, tmp_path):
    out = tmp_path / "model"
    train(TrainConfig(data=str(tiny_npz), out=str(out), architecture="tiny", epochs=1, batch_size=16,
                      jit_compile=False, command="test"), verbose=0, evaluate_at_end=False)
    return out


def test_evaluate_command_writes_json_and_plots(trained_dir, tiny_npz, tmp_path):
    out = tmp_path / "eval" / "private.json"
    call_command("evaluate", "--data", str(tiny_npz), "--split", "PrivateTest", "--model", str(trained_dir),
                 "--tta", "--json", str(out))
    metrics = json.loads(out.read_text())
    assert set(metrics) >= {"accuracy", "n", "per_class", "confusion_matrix", "command", "training"}
    assert metrics["n"] == 21 and metrics["tta"] is True
    assert np.array(metrics["confusion_matrix"]).sum() == 21
    assert (tmp_path / "eval" / "private_confusion.png").is_file()
    assert (tmp_path / "eval" / "private_curves.png").is_file()


def test_evaluate_any_npz_without_usage_uses_all_rows(trained_dir, tmp_path):
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "other.npz", pixels=rng.integers(0, 256, (9, 48, 48), dtype=np.uint8),
             emotion=np.arange(9) % 7)
    call_command("evaluate", "--data", str(tmp_path / "other.npz"), "--model", str(trained_dir),
                 "--json", str(tmp_path / "other.json"))
    metrics = json.loads((tmp_path / "other.json").read_text())
    assert metrics["n"] == 9 and metrics["split"] is None


def test_evaluate_reports_accuracy_without_train_overlap(trained_dir, tmp_path):
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 256, (6, 48, 48), dtype=np.uint8)
    pixels[4] = pixels[0]
    np.savez(tmp_path / "d.npz", pixels=pixels, emotion=np.arange(6) % 7, usage=np.array([0, 0, 1, 1, 2, 2]))
    call_command("evaluate", "--data", str(tmp_path / "d.npz"), "--model", str(trained_dir),
                 "--json", str(tmp_path / "d.json"))
    metrics = json.loads((tmp_path / "d.json").read_text())
    assert metrics["without_train_overlap"] == {"accuracy": metrics["without_train_overlap"]["accuracy"],
                                                "n": 1, "excluded": 1}


def test_evaluate_command_with_missing_model_is_a_clear_error(tiny_npz, tmp_path):
    with pytest.raises(CommandError, match="no exported model"):
        call_command("evaluate", "--data", str(tiny_npz), "--model", str(tmp_path))


def test_activation_maps_command_writes_one_grid_per_block(trained_dir, tmp_path):
    import cv2

    face = tmp_path / "face.png"
    cv2.imwrite(str(face), np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
    call_command("activation_maps", str(face), "--out", str(tmp_path / "maps"), "--model", str(trained_dir))
    grids = sorted(p.name for p in (tmp_path / "maps").glob("*.png"))
    assert grids == ["block1_block1_relu.png", "block2_block2_relu.png"]


@pytest.mark.parametrize("epochs", [1, 3])
def test_history_curves_draw_markers_when_a_line_has_nothing_to_join(epochs):
    import matplotlib.pyplot as plt

    from training.core.evaluate import history_figure

    history = [{"epoch": epoch, "loss": 1.5 / epoch, "val_loss": 1.6 / epoch, "accuracy": 0.2 * epoch,
                "val_accuracy": 0.18 * epoch} for epoch in range(1, epochs + 1)]
    figure = history_figure(history)
    try:
        lines = [line for ax in figure.axes for line in ax.get_lines()]
        texts = [text.get_text() for ax in figure.axes for text in ax.texts]
    finally:
        plt.close(figure)
    assert len(lines) == 4 and all(len(line.get_xdata()) == epochs for line in lines)
    if epochs == 1:  # one point per line: a bare line would draw nothing
        assert all(line.get_marker() == "o" for line in lines)
        assert "validation 0.180" in texts and "training 1.500" in texts
    else:
        assert all(line.get_marker() in (None, "None", "") for line in lines) and texts == []


def test_each_model_file_has_its_own_metrics_file():
    from training.core.artifacts import metrics_file_for

    assert metrics_file_for("model.tflite") == "metrics.json"
    assert metrics_file_for("model_live.tflite") == "metrics_live.json"
    assert metrics_file_for("model_fp16.tflite") == "metrics_model_fp16.json"  # never over another's


def test_ten_crop_views_are_the_corners_and_centre_resized_and_mirrored():
    import cv2

    faces = np.random.default_rng(2).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    views = ten_crop_views(faces)
    assert len(views) == 10 and all(view.shape == faces.shape for view in views)
    for index, (top, left) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]):
        expected = cv2.resize(faces[1, top:top + 44, left:left + 44], (48, 48), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(views[2 * index][1], expected)
        np.testing.assert_array_equal(views[2 * index + 1][1], expected[:, ::-1])
    with pytest.raises(ValueError, match="does not fit 48x48"):
        ten_crop_views(faces, side=60)


def test_evaluate_command_reports_ten_crop_apart_from_flip(trained_dir, tiny_npz, tmp_path):
    out = tmp_path / "tencrop.json"
    call_command("evaluate", "--data", str(tiny_npz), "--split", "PublicTest", "--model", str(trained_dir),
                 "--ten-crop", "--json", str(out))
    metrics = json.loads(out.read_text())
    assert metrics["ten_crop"] is True and metrics["tta"] is False and metrics["n"] == 21
    faces = load_npz(tiny_npz).split("PublicTest")
    expected = np.mean([predict_probabilities(trained_dir, view) for view in ten_crop_views(faces.pixels)], axis=0)
    assert metrics["accuracy"] == pytest.approx(float((expected.argmax(axis=1) == faces.labels).mean()))
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("evaluate", "--data", str(tiny_npz), "--model", str(trained_dir), "--tta", "--ten-crop")


def test_flip_and_ten_crop_together_are_refused(trained_dir):
    with pytest.raises(ValueError, match="not both"):
        predict_probabilities(trained_dir, np.zeros((1, 48, 48), np.uint8), tta=True, ten_crop=True)
