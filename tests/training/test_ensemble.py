import json
import shutil

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from training.core.data import load_npz
from training.core.ensemble import choose_weights, load_members, weight_grid
from training.core.evaluate import predict_probabilities
from training.core.labels import EMOTIONS, LabelMismatchError
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
    assert config["labels"] == list(EMOTIONS)
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


def test_an_ensemble_given_as_a_member_contributes_its_networks(two_members, tmp_path):
    data, members = two_members
    inner = tmp_path / "inner"
    call_command("ensemble", str(members[0]), "--out", str(inner), "--flip", verbosity=0)
    extended = tmp_path / "extended"
    call_command("ensemble", str(inner), str(members[1]), "--out", str(extended), "--weights", "3", "1",
                 verbosity=0)

    faces = load_npz(data).split("PrivateTest").pixels
    first, second = (predict_probabilities(m, faces) for m in members)
    np.testing.assert_allclose(predict_probabilities(extended, faces), 0.75 * first + 0.25 * second, atol=1e-5)
    config = json.loads((extended / "config.json").read_text())
    assert config["flip"] is False and config["weights"] == [0.75, 0.25]
    assert [m["dir"] for m in config["members"]] == [str(members[0]), str(members[1])]
    assert [m["commands"] for m in config["members"]] == [["train seed 1"], ["train seed 2"]]
    kept = extended / "members" / f"1-{members[0].name}"
    assert (kept / "config.json").read_text() == (members[0] / "config.json").read_text()


def test_one_network_of_an_ensemble_is_named_with_its_number(two_members, tmp_path):
    data, members = two_members
    inner = tmp_path / "inner"
    call_command("ensemble", str(members[0]), str(members[1]), "--out", str(inner), verbosity=0)
    picked = tmp_path / "picked"
    call_command("ensemble", f"{inner}#2", "--out", str(picked), verbosity=0)

    faces = load_npz(data).split("PrivateTest").pixels
    np.testing.assert_allclose(predict_probabilities(picked, faces), predict_probabilities(members[1], faces),
                               atol=1e-5)
    config = json.loads((picked / "config.json").read_text())
    assert [m["dir"] for m in config["members"]] == [str(members[1])]
    with pytest.raises(CommandError, match="holds 2 network"):
        call_command("ensemble", f"{inner}#3", "--out", str(tmp_path / "none"), verbosity=0)


def test_weight_grid_covers_every_split_of_one():
    grid = [tuple(w) for w in weight_grid(3, 2)]
    assert sorted(grid) == sorted({(0, 0, 1), (0, 1, 0), (1, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0)})
    assert len(list(weight_grid(2, 10))) == 11


def test_choose_weights_prefers_the_member_that_is_right():
    labels = np.array([0, 1, 2, 0])
    right = np.eye(3)[labels] * 0.8 + 0.2 / 3
    wrong = np.eye(3)[[1, 2, 0, 1]] * 0.9 + 0.1 / 3
    ranked = choose_weights(np.stack([wrong, right]), labels, steps=4)
    assert ranked[0]["weights"] == [0.0, 1.0] and ranked[0]["accuracy"] == 1.0
    assert ranked[-1]["weights"] == [1.0, 0.0] and ranked[-1]["accuracy"] == 0.0


def test_ensemble_can_choose_its_weights_on_publictest(two_members, tmp_path):
    data, members = two_members
    out = tmp_path / "chosen"
    call_command("ensemble", *map(str, members), "--out", str(out), "--choose-weights", "--data", str(data),
                 verbosity=0)
    config = json.loads((out / "config.json").read_text())
    public = load_npz(data).split("PublicTest")
    assert config["weights_chosen_on"].startswith(f"PublicTest of {data} (21 faces)")
    best = config["weight_candidates"][0]
    assert config["weights"] == pytest.approx(best["weights"])
    mixed = predict_probabilities(out, public.pixels)
    assert np.mean(mixed.argmax(axis=1) == public.labels) == pytest.approx(best["accuracy"])
    assert all(best["accuracy"] >= c["accuracy"] for c in config["weight_candidates"])


def test_weights_and_choose_weights_exclude_each_other(two_members, tmp_path):
    data, members = two_members
    with pytest.raises(CommandError, match="either weights or a set"):
        call_command("ensemble", *map(str, members), "--out", str(tmp_path / "out"), "--weights", "1", "1",
                     "--choose-weights", "--data", str(data), verbosity=0)


def test_a_member_whose_labels_are_not_ours_is_refused(two_members, tmp_path):
    member = two_members[1][0]
    other = tmp_path / "other-labels"
    shutil.copytree(member, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "labels": ["cat", "dog"]}))
    with pytest.raises(LabelMismatchError, match="classes are cat, dog"):
        load_members(other)
