import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from training.core.data import load_npz
from training.core.evaluate import predict_probabilities
from training.core.trainer import TrainConfig, train


def tensor_types(model_dir) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_dir / "model.tflite"))
    return {np.dtype(detail["dtype"]).name for detail in interpreter.get_tensor_details()}


@pytest.fixture(scope="module")
def two_members(tmp_path_factory):
    """Two tiny models trained for one epoch with different seeds (different weights)."""
    from tests.training.conftest import make_faces

    root = tmp_path_factory.mktemp("members")
    pixels, labels = make_faces(112)
    usage = np.array([0] * 70 + [1] * 21 + [2] * 21, dtype=np.uint8)
    data = root / "tiny.npz"
    np.savez(data, pixels=pixels, emotion=labels, usage=usage)
    members = []
    for seed in (1, 2):
        out = root / f"member{seed}"
        train(TrainConfig(data=str(data), out=str(out), architecture="tiny", epochs=1, batch_size=16,
                          jit_compile=False, seed=seed, command=f"train seed {seed}"),
              verbose=0, evaluate_at_end=False)
        members.append(out)
    return data, members


def test_ensemble_averages_members_over_both_mirror_views(two_members, tmp_path):
    data, members = two_members
    out = tmp_path / "ensemble"
    call_command("ensemble", *map(str, members), "--out", str(out), "--flip", verbosity=0)

    faces = load_npz(data).split("PrivateTest").pixels
    expected = np.mean([predict_probabilities(m, faces, tta=True) for m in members], axis=0)
    np.testing.assert_allclose(predict_probabilities(out, faces), expected, atol=1e-5)

    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "ensemble" and config["flip"] is True
    assert [m["commands"] for m in config["members"]] == [["train seed 1"], ["train seed 2"]]
    command = (out / "command.txt").read_text()
    assert "train seed 1" in command and "train seed 2" in command
    for index, member in enumerate(members, start=1):
        kept = out / "members" / f"{index}-{member.name}"
        assert (kept / "config.json").read_text() == (member / "config.json").read_text()
        assert (kept / "history.json").is_file()


def test_ensemble_without_flip_is_the_plain_mean(two_members, tmp_path):
    data, members = two_members
    out = tmp_path / "ensemble"
    call_command("ensemble", *map(str, members), "--out", str(out), verbosity=0)
    faces = load_npz(data).split("PrivateTest").pixels
    expected = np.mean([predict_probabilities(m, faces) for m in members], axis=0)
    np.testing.assert_allclose(predict_probabilities(out, faces), expected, atol=1e-5)


def test_ensemble_of_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"no model\.keras"):
        call_command("ensemble", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), verbosity=0)


def test_int8_export_stays_close_to_the_float_model(two_members, tmp_path):
    data, members = two_members
    float_dir, int8_dir = tmp_path / "float", tmp_path / "int8"
    call_command("ensemble", *map(str, members), "--out", str(float_dir), verbosity=0)
    call_command("ensemble", *map(str, members), "--out", str(int8_dir), "--int8", "--data", str(data), verbosity=0)
    config = json.loads((int8_dir / "config.json").read_text())
    assert config["int8"] is True and f"Training faces of {data} drawn with seed 1" in config["int8_calibration"]
    assert "int8" in tensor_types(int8_dir) and "int8" not in tensor_types(float_dir)

    faces = load_npz(data).split("PrivateTest").pixels
    exact, quantized = predict_probabilities(float_dir, faces), predict_probabilities(int8_dir, faces)
    np.testing.assert_allclose(quantized.sum(axis=1), 1, atol=1e-2)
    assert np.abs(quantized - exact).max() < 0.05


def test_activation_maps_of_an_ensemble_show_its_first_member(two_members, tmp_path):
    import cv2

    _, members = two_members
    out = tmp_path / "ensemble"
    call_command("ensemble", *map(str, members), "--out", str(out), "--flip", verbosity=0)
    face = tmp_path / "face.png"
    cv2.imwrite(str(face), np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8))
    call_command("activation_maps", str(face), "--out", str(tmp_path / "maps"), "--model", str(out))
    assert sorted(p.name for p in (tmp_path / "maps").glob("*.png")) == ["block1_block1_relu.png",
                                                                        "block2_block2_relu.png"]


def test_weighted_ensemble_scales_each_member(two_members, tmp_path):
    data, members = two_members
    out = tmp_path / "weighted"
    call_command("ensemble", *map(str, members), "--out", str(out), "--flip", "--weights", "3", "1", verbosity=0)
    faces = load_npz(data).split("PrivateTest").pixels
    first, second = (predict_probabilities(m, faces, tta=True) for m in members)
    np.testing.assert_allclose(predict_probabilities(out, faces), 0.75 * first + 0.25 * second, atol=1e-5)
    assert json.loads((out / "config.json").read_text())["weights"] == [0.75, 0.25]


def test_ensemble_weights_must_match_the_members(two_members, tmp_path):
    _, members = two_members
    with pytest.raises(CommandError, match="give 2 non-negative weights"):
        call_command("ensemble", *map(str, members), "--out", str(tmp_path / "out"), "--weights", "1", verbosity=0)
