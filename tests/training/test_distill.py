"""Knowledge distillation (`train --teacher MODEL_DIR --teacher-weight W`)."""

import json

import numpy as np
import pytest

from tests.training.conftest import make_faces
from training.core.data import FaceDataset, load_npz
from training.core.distill import distilled_targets, teacher_probabilities
from training.core.evaluate import predict_probabilities
from training.core.trainer import TrainConfig, train, training_stream, training_targets


def tiny_config(data, out, **overrides) -> TrainConfig:
    options = {"architecture": "tiny", "epochs": 1, "batch_size": 16, "jit_compile": False, "command": "test"}
    return TrainConfig(data=str(data), out=str(out), **{**options, **overrides})


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A trained (tiny) network with its LiteRT export: a teacher."""
    root = tmp_path_factory.mktemp("teacher")
    pixels, labels = make_faces(112)
    data = root / "tiny.npz"
    np.savez(data, pixels=pixels, emotion=labels, usage=np.array([0] * 70 + [1] * 21 + [2] * 21, np.uint8))
    train(tiny_config(data, root / "teacher"), verbose=0, evaluate_at_end=False)
    return root / "teacher"


def test_targets_mix_the_label_with_the_teachers_probabilities():
    one_hot = np.eye(7, dtype=np.float32)[[0, 3]]
    teacher = np.array([[0.2, 0, 0, 0, 0, 0, 0.8], [0, 0, 0, 0.5, 0.5, 0, 0]], np.float32)
    mixed = distilled_targets(one_hot, teacher, 0.25)
    np.testing.assert_allclose(mixed, [[0.8, 0, 0, 0, 0, 0, 0.2], [0, 0, 0, 0.875, 0.125, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(distilled_targets(one_hot, teacher, 0.0), one_hot)
    np.testing.assert_allclose(distilled_targets(one_hot, teacher, 1.0), teacher)


def test_a_quantised_teachers_rows_are_renormalised_so_targets_stay_distributions():
    teacher = np.array([[0.5, 0.49, 0, 0, 0, 0, 0.0]], np.float32)  # int8 rounding: sums to 0.99
    mixed = distilled_targets(np.eye(7, dtype=np.float32)[[0]], teacher, 0.5)
    np.testing.assert_allclose(mixed.sum(axis=1), 1, atol=1e-6)


def test_a_weight_outside_0_to_1_or_a_shape_mismatch_is_refused():
    one_hot = np.eye(7, dtype=np.float32)[[0]]
    with pytest.raises(ValueError, match=r"teacher weight must lie in 0\.\.1"):
        distilled_targets(one_hot, one_hot, 1.5)
    with pytest.raises(ValueError, match="differ in shape"):
        distilled_targets(one_hot, np.eye(7, dtype=np.float32)[[0, 1]], 0.5)


def test_the_training_stream_carries_the_teachers_targets(teacher_dir):
    faces = FaceDataset(make_faces(4, seed=3)[0], labels=np.array([0, 1, 2, 3]))
    teacher = predict_probabilities(teacher_dir, faces.pixels)
    config = TrainConfig(data="", out="", batch_size=4, augment=False, teacher=str(teacher_dir), teacher_weight=0.5)
    expected = 0.5 * np.eye(7)[faces.labels] + 0.5 * teacher / teacher.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(training_targets(faces, config), expected, atol=1e-5)
    _, streamed = next(iter(training_stream(faces, config)))
    # The stream shuffles; each row is found by its label, the only class above 0.5.
    order = np.argsort(np.argmax(streamed.numpy()[:, :4], axis=1))
    np.testing.assert_allclose(streamed.numpy()[order], expected, atol=1e-5)


def test_the_teacher_applies_after_fer_plus_votes(teacher_dir, tmp_path):
    votes = tmp_path / "fer2013new.csv"
    votes.write_text("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
                     "Training,fer0.png,5,0,0,0,5,0,0,0,0,0\n")
    faces = FaceDataset(make_faces(1)[0], labels=np.array([0]), source_rows=np.array([0]))
    teacher = predict_probabilities(teacher_dir, faces.pixels)
    config = TrainConfig(data="", out="", soft_labels=str(votes), soft_label_weight=0.4,
                         teacher=str(teacher_dir), teacher_weight=0.5)
    voted = np.array([[0.8, 0, 0, 0, 0, 0, 0.2]])
    np.testing.assert_allclose(training_targets(faces, config),
                               0.5 * voted + 0.5 * teacher / teacher.sum(axis=1, keepdims=True), atol=1e-5)


def test_a_student_trains_and_records_its_teacher(teacher_dir, tiny_npz, tmp_path):
    out = tmp_path / "student"
    train(tiny_config(tiny_npz, out, teacher=str(teacher_dir), teacher_weight=0.7), verbose=0)
    config = json.loads((out / "config.json").read_text())
    assert config["teacher"] == str(teacher_dir) and config["teacher_weight"] == 0.7
    assert predict_probabilities(out, load_npz(tiny_npz).split("PrivateTest").pixels).shape == (21, 7)


def test_a_teacher_without_an_export_is_a_clear_error(tmp_path):
    faces = FaceDataset(make_faces(2)[0], labels=np.array([0, 1]))
    with pytest.raises(FileNotFoundError, match="no exported model"):
        teacher_probabilities(tmp_path, faces)


def test_a_run_keeps_its_teachers_probabilities_so_a_resume_trains_towards_the_same_targets(teacher_dir, tiny_npz,
                                                                                            tmp_path):
    out = tmp_path / "student"
    config = tiny_config(tiny_npz, out, teacher=str(teacher_dir))
    train(config, verbose=0, evaluate_at_end=False)
    kept = np.load(out / "checkpoint" / "teacher.npy")
    training_faces = load_npz(tiny_npz).split("Training")
    np.testing.assert_allclose(kept, predict_probabilities(teacher_dir, training_faces.pixels), atol=1e-6)
    # The teacher's directory changes (a new model is shipped): the resumed run still uses what it kept.
    kept_copy = kept.copy()
    (teacher_dir / "model.tflite").rename(teacher_dir / "moved.tflite")
    try:
        resumed = train(tiny_config(tiny_npz, out, epochs=2, teacher=str(teacher_dir)), resume=True, verbose=0,
                        evaluate_at_end=False)
    finally:
        (teacher_dir / "moved.tflite").rename(teacher_dir / "model.tflite")
    assert resumed.state.epoch == 2
    np.testing.assert_array_equal(np.load(out / "checkpoint" / "teacher.npy"), kept_copy)


def test_a_resume_without_the_runs_teacher_or_architecture_is_refused(teacher_dir, tiny_npz, tmp_path):
    out = tmp_path / "student"
    train(tiny_config(tiny_npz, out, teacher=str(teacher_dir)), verbose=0, evaluate_at_end=False)
    with pytest.raises(ValueError, match=r"trained with --teacher .*; resume it with the same teacher "):
        train(tiny_config(tiny_npz, out, epochs=2), resume=True, verbose=0)
    with pytest.raises(ValueError, match=r"--teacher-weight 0\.5; resume it with the same teacher_weight"):
        train(tiny_config(tiny_npz, out, epochs=2, teacher=str(teacher_dir), teacher_weight=0.7), resume=True,
              verbose=0)
    with pytest.raises(ValueError, match="trained with --architecture tiny; resume it with the same architecture"):
        train(tiny_config(tiny_npz, out, epochs=2, teacher=str(teacher_dir), architecture="seed"), resume=True,
              verbose=0)


def test_a_teacher_with_other_labels_is_refused(teacher_dir, tmp_path):
    import shutil

    from training.core.labels import LabelMismatchError

    other = tmp_path / "other"
    shutil.copytree(teacher_dir, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "labels": list(reversed(config["labels"]))}))
    with pytest.raises(LabelMismatchError):
        teacher_probabilities(other, FaceDataset(make_faces(2)[0], labels=np.array([0, 1])))


def test_the_train_command_names_a_teacher_without_an_export(tiny_npz, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no exported model"):
        call_command("train", "--data", str(tiny_npz), "--out", str(tmp_path / "student"), "--architecture", "tiny",
                     "--epochs", "1", "--no-jit", "--teacher", str(tmp_path), "--verbosity", "0")


def test_the_api_does_not_show_the_teachers_server_path():
    from training.api.serializers import public_config

    shown = public_config({"architecture": "fernet_deep", "teacher": "/srv/models/shipped", "teacher_weight": 0.5,
                           "members": [{"teacher": "/srv/x", "seed": 9}]})
    assert shown == {"architecture": "fernet_deep", "teacher_weight": 0.5, "members": [{"seed": 9}]}
