"""Compare the still-frame time of our recognition core with the `fer` package, on the same frames, in one run.

    .venv/bin/python bench/compare_fer.py [--frames 300] [--json OUT]

`fer` (the package peer users pick: Haar + a Keras/LiteRT emotion model) is installed into its own
virtual environment, var/fer-venv, with `pip install --no-deps`: its heavy dependencies (TensorFlow,
OpenCV, NumPy) are this project's own, reached through a .pth file, so nothing big is downloaded and
both sides run the same libraries. Both sides get the same 640x480 JPEG frames of a real face
(`bench.frames.independent_frames`) and are timed per frame, JPEG bytes to emotions,
after a few untimed calls, in alternating rounds (ours, fer, ours, fer, ...) so that a change in
the machine's load falls on both. The figures are printed and, with --json, written out.
"""

from __future__ import annotations

import argparse
import json
import os
import site
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FER_VERSION = "25.10.3"
FER_VENV = ROOT / "var" / "fer-venv"
WARM_UP = 5


def frames(count: int) -> list[bytes]:
    from bench.frames import astronaut_bgr, independent_frames

    variants = independent_frames(astronaut_bgr())
    return [variants[index % len(variants)] for index in range(count)]


def time_each(function, items) -> tuple[list[float], list[int]]:
    for item in items[:WARM_UP]:
        function(item)
    durations, faces = [], []
    for item in items:
        start = time.perf_counter()
        found = function(item)
        durations.append((time.perf_counter() - start) * 1000)
        faces.append(len(found))
    return durations, faces


def summary(durations: list[float], faces: list[int]) -> dict:
    import numpy as np

    return {
        "frame_ms_median": round(float(np.median(durations)), 3),
        "frame_ms_p95": round(float(np.percentile(durations, 95)), 3),
        "faces_found_per_frame": {str(n): faces.count(n) for n in sorted(set(faces))},
    }


def measure_ours(count: int) -> tuple[list[float], list[int]]:
    from emotions.recognition import EmotionClassifier, HaarFaceDetector, RecognitionPipeline

    pipeline = RecognitionPipeline(HaarFaceDetector(), EmotionClassifier(ROOT / "models" / "shipped" / "model.tflite"))
    return time_each(pipeline.process, frames(count))


def measure_fer(count: int) -> tuple[list[float], list[int]]:
    """Runs inside var/fer-venv: fer's own decode-free API gets the decoded frame, so the JPEG decode
    (which our side includes) is added here with OpenCV, as a caller of fer would do."""
    import cv2
    import numpy as np
    from fer.fer import FER

    detector = FER()  # its defaults: Haar, the quantized LiteRT model

    def process(jpeg: bytes):
        return detector.detect_emotions(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))

    return time_each(process, frames(count))


def ensure_fer_venv() -> Path:
    python = FER_VENV / "bin" / "python"
    if not python.exists():
        venv.create(FER_VENV, with_pip=True)
        target = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                                check=True, capture_output=True, text=True).stdout.strip()
        # This project's site-packages after the venv's own: fer's dependencies without installing them.
        Path(target, "moodlens_project.pth").write_text(site.getsitepackages()[0] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "show", "fer"], capture_output=True, text=True)
    if f"Version: {FER_VERSION}" not in installed.stdout:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", f"fer=={FER_VERSION}"],
                       check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per side, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--side", choices=["fer"], help=argparse.SUPPRESS)  # internal: run one side
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.side == "fer":
        print(json.dumps(measure_fer(args.frames)))
        return

    python = ensure_fer_venv()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    per_round = max(WARM_UP, args.frames // args.rounds)
    sides: dict[str, tuple[list[float], list[int]]] = {"ours": ([], []), "fer": ([], [])}
    for _ in range(args.rounds):
        for name in sides:
            if name == "ours":
                durations, faces = measure_ours(per_round)
            else:
                run = subprocess.run([str(python), __file__, "--side", "fer", "--frames", str(per_round)],
                                     check=True, capture_output=True, text=True, env=environment, cwd=ROOT)
                durations, faces = json.loads(run.stdout.strip().splitlines()[-1])
            sides[name][0].extend(durations)
            sides[name][1].extend(faces)
    ours, fer = summary(*sides["ours"]), summary(*sides["fer"])
    figures = {
        "frames": per_round * args.rounds, "rounds": args.rounds, "frame_size": "640x480 JPEG, one face",
        "moodlens": ours, "fer": {**fer, "version": FER_VERSION},
        "ratio_fer_over_moodlens": round(fer["frame_ms_median"] / ours["frame_ms_median"], 2),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"moodlens: {ours['frame_ms_median']} ms median, {ours['frame_ms_p95']} ms p95, "
          f"faces per frame {ours['faces_found_per_frame']}")
    print(f"fer {FER_VERSION}: {fer['frame_ms_median']} ms median, {fer['frame_ms_p95']} ms p95, "
          f"faces per frame {fer['faces_found_per_frame']}")
    print(f"fer / moodlens: {figures['ratio_fer_over_moodlens']}x (load average {figures['load_average_1min']})")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
