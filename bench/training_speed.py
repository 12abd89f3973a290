"""How fast `train` runs on this CPU under each setting that might make it faster (issue #16's first lever).

Each setting runs the real trainer's steps (augmented batches, validation on PublicTest; no
checkpoint is written) for two epochs on `images` Training faces (`--limit`), in a process of its own
(Keras' precision policy and XLA's caches are per process); the second epoch is timed (to 0.1 s, as
`history.json` records it), the first pays for compilation.
Settings run interleaved, `repeats` rounds, so that a busy moment of the host does not favour one.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    jit_compile: bool = True
    precision: str = "float32"  # the trainer's --precision; "mixed_bfloat16" uses AVX-512 BF16 where the CPU has it
    batch_size: int = 64


SETTINGS = (
    Setting("float32, XLA (the trainer's default)"),
    Setting("float32, no XLA", jit_compile=False),
    Setting("mixed_bfloat16, no XLA", jit_compile=False, precision="mixed_bfloat16"),
    Setting("mixed_bfloat16, XLA", precision="mixed_bfloat16"),
    Setting("float32, no XLA, batch 128", jit_compile=False, batch_size=128),
)


def time_one(setting: Setting, *, data: str, architecture: str, images: int) -> dict:
    """Train two epochs under `setting` in this process; the second epoch's seconds."""
    from training.core.trainer import TrainConfig, build_or_resume, train_one_epoch

    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(data=data, out=out, architecture=architecture, epochs=2, batch_size=setting.batch_size,
                             jit_compile=setting.jit_compile, precision=setting.precision, limit=images,
                             command="bench_training")
        # The trainer's own steps, without its finish (a bfloat16 network has no LiteRT export).
        run = build_or_resume(config, resume=False)
        train_one_epoch(run, verbose=0)
        seconds = train_one_epoch(run, verbose=0)["seconds"]
    return {"setting": setting.name, "epoch_seconds": seconds, "ms_per_training_image": 1000 * seconds / images}


def run_in_own_process(setting: Setting, *, data: str, architecture: str, images: int) -> dict:
    payload = json.dumps({"setting": asdict(setting), "data": data, "architecture": architecture, "images": images})
    completed = subprocess.run([sys.executable, "-m", "bench.training_speed", payload], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent.parent, timeout=3600)
    if completed.returncode != 0:
        raise RuntimeError(f"{setting.name}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def compare(*, data: str, architecture: str, images: int, repeats: int, settings=SETTINGS) -> dict:
    """Median seconds of a timed epoch per setting, and its speed relative to the first setting
    (of `SETTINGS`: the trainer's default)."""
    if images < 1 or repeats < 1:
        raise ValueError("bench_training needs at least 1 image and 1 repeat")
    runs: dict[str, list[float]] = {setting.name: [] for setting in settings}
    for _ in range(repeats):
        for setting in settings:
            runs[setting.name].append(
                run_in_own_process(setting, data=data, architecture=architecture, images=images)["epoch_seconds"])
    baseline = statistics.median(runs[settings[0].name])
    return {
        "architecture": architecture, "images": images, "repeats": repeats,
        "note": "a timed epoch: the training images, then a quarter as many PublicTest faces evaluated",
        "settings": {
            name: {"epoch_seconds_median": statistics.median(seconds), "epoch_seconds": seconds,
                   "ms_per_training_image": round(1000 * statistics.median(seconds) / images, 3),
                   "speed_vs_first": round(baseline / statistics.median(seconds), 3)}
            for name, seconds in runs.items()
        },
    }


if __name__ == "__main__":  # one setting, in its own process: python -m bench.training_speed '<json>'
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    request = json.loads(sys.argv[1])
    figures = time_one(Setting(**request["setting"]), data=request["data"], architecture=request["architecture"],
                       images=request["images"])
    print(json.dumps(figures))
