"""bench_training: the real trainer timed under each setting, each in its own process."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench.training_speed import Setting, compare

pytestmark = pytest.mark.slow

TWO_SETTINGS = (
    Setting("float32", jit_compile=False),
    Setting("bfloat16", jit_compile=False, precision="mixed_bfloat16"),
)


def test_each_setting_trains_a_timed_epoch_in_its_own_process(tiny_npz):
    figures = compare(data=str(tiny_npz), architecture="tiny", images=48, repeats=1, settings=TWO_SETTINGS)
    assert set(figures["settings"]) == {"float32", "bfloat16"}
    for row in figures["settings"].values():
        assert len(row["epoch_seconds"]) == 1 and row["epoch_seconds_median"] >= 0
    assert figures["settings"]["float32"]["speed_vs_first"] == 1.0


def test_a_setting_that_fails_names_itself(tiny_npz):
    broken = Setting("no such precision", precision="float7")
    with pytest.raises(RuntimeError, match="no such precision"):
        compare(data=str(tiny_npz), architecture="tiny", images=48, repeats=1, settings=(broken,))


def test_the_command_prints_and_writes_the_figures(tiny_npz, tmp_path, capsys):
    out = tmp_path / "training.json"
    call_command("bench_training", "--data", str(tiny_npz), "--architecture", "tiny", "--images", "48",
                 "--repeats", "1", "--setting", "float32, no XLA", "--json", str(out))
    assert "float32, no XLA: " in capsys.readouterr().out
    assert json.loads(out.read_text())["settings"]["float32, no XLA"]["speed_vs_first"] == 1.0


def test_too_few_images_are_refused_before_anything_trains(tiny_npz):
    with pytest.raises(CommandError, match="at least 1 image"):
        call_command("bench_training", "--data", str(tiny_npz), "--images", "0")
