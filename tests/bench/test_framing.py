"""bench_framing: FER-2013-style crops of a real face, set into frames and found again by the pipeline."""

import json

import numpy as np
import pytest
from django.core.management import call_command

from bench.frames import astronaut_bgr
from bench.framing import face_in_frame, run_framing
from emotions.active_model import build_pipeline
from emotions.recognition.detect import HaarFaceDetector, to_gray
from emotions.recognition.pipeline import crop_face

HAPPY = 3


@pytest.fixture(scope="module")
def astronaut_crop() -> np.ndarray:
    """The astronaut's face as FER-2013 frames one: the detector's box, 48x48 grey."""
    gray = to_gray(astronaut_bgr())
    (box,) = HaarFaceDetector().detect(gray)
    return crop_face(gray, box)


def test_the_face_sits_where_the_frame_says(astronaut_crop):
    frame, (x, y, w, h) = face_in_frame(astronaut_crop, side=96, position=(10, 20))
    assert frame.shape == (480, 640, 3) and (w, h) == (96, 96)
    assert (x, y) == (10 + 48, 20 + 48)  # after a border of half the face's side
    np.testing.assert_array_equal(frame[y + 10, x + 10], frame[y + 10, x + 10][0])  # grey


def test_a_real_face_is_found_in_its_frame_and_compared_on_the_same_faces(tiny_model_dir, astronaut_crop):
    pixels = np.stack([astronaut_crop, astronaut_crop[:, ::-1], astronaut_crop])
    labels = np.array([HAPPY] * 3)
    result = run_framing(build_pipeline(tiny_model_dir), pixels, labels)
    assert (result.faces, result.found, result.extra_detections) == (3, 3, 0)
    assert result.found_by_whole_frame_search == 3  # Haar's fine search without the coarse pass agrees
    figures = result.as_dict()
    assert figures["found_rate"] == 1.0
    assert figures["accuracy_of_found"] == figures["accuracy_in_frames"]
    assert 0 <= result.correct_on_crops_of_found <= result.correct_on_crops <= 3


def test_noise_is_not_found_and_counts_as_wrong(tiny_model_dir):
    pixels = np.random.default_rng(0).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    result = run_framing(build_pipeline(tiny_model_dir), pixels, np.array([0, 1]))
    assert (result.found, result.correct_in_frames, result.extra_detections) == (0, 0, 0)
    assert result.found_by_whole_frame_search == 0
    assert result.as_dict()["accuracy_in_frames"] == 0


def test_the_command_writes_the_figures(tiny_model_dir, astronaut_crop, tmp_path):
    data = tmp_path / "faces.npz"
    np.savez(data, pixels=np.stack([astronaut_crop] * 2), emotion=np.array([HAPPY, HAPPY], np.uint8),
             usage=np.array([2, 2], np.uint8))
    out = tmp_path / "framing.json"
    call_command("bench_framing", "--data", str(data), "--model", str(tiny_model_dir), "--json", str(out))
    figures = json.loads(out.read_text())
    assert figures["split"] == "PrivateTest" and figures["faces"] == 2 and figures["found"] == 2
