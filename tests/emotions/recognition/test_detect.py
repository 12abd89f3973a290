import cv2
import numpy as np
import pytest

from bench.frames import place_in_frame
from emotions.recognition import FaceDetector, YuNetFaceDetector

# The astronaut's face in the 512x512 photo, as the Haar cascade sees it at full resolution.
ASTRONAUT_FACE_CENTRE = (222, 112)


def centre(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2


def assert_inside(box, shape):
    x, y, w, h = box
    assert x >= 0 and y >= 0 and w > 0 and h > 0
    assert x + w <= shape[1] and y + h <= shape[0]


def test_detectors_follow_the_protocol(haar):
    assert isinstance(haar, FaceDetector)
    assert haar.wants_color is False


def test_haar_finds_exactly_the_astronaut_face(haar, astronaut):
    boxes = haar.detect(astronaut)
    assert len(boxes) == 1
    x, y = centre(boxes[0])
    assert abs(x - ASTRONAUT_FACE_CENTRE[0]) < 15 and abs(y - ASTRONAUT_FACE_CENTRE[1]) < 15
    assert 80 <= boxes[0][2] <= 120
    assert_inside(boxes[0], astronaut.shape)


def test_haar_accepts_gray_and_colour_alike(haar, astronaut):
    assert len(haar.detect(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY))) == 1


@pytest.mark.parametrize(("left", "top", "side"), [(110, 30, 420), (0, 0, 480), (220, 60, 400), (60, 10, 460)])
def test_haar_finds_exactly_one_face_in_a_640x480_frame(haar, astronaut, left, top, side):
    frame = place_in_frame(astronaut, left, top, side=side)
    boxes = haar.detect(frame)
    assert len(boxes) == 1
    scale = side / 512
    expected = (left + ASTRONAUT_FACE_CENTRE[0] * scale, top + ASTRONAUT_FACE_CENTRE[1] * scale)
    found = centre(boxes[0])
    assert abs(found[0] - expected[0]) < 15 and abs(found[1] - expected[1]) < 15
    assert_inside(boxes[0], frame.shape)


@pytest.mark.parametrize(
    "image",
    [
        np.full((480, 640), 128, np.uint8),
        np.zeros((480, 640, 3), np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8),
        np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    ],
    ids=["grey", "black", "noise", "colour-noise"],
)
def test_haar_finds_no_face_in_blank_or_noise(haar, image):
    assert haar.detect(image) == []


def test_haar_finds_no_face_in_photos_without_people(haar):
    from skimage import data

    for name in ("chelsea", "coffee", "rocket", "coins", "hubble_deep_field"):
        image = getattr(data, name)()
        assert haar.detect(image[..., ::-1] if image.ndim == 3 else image) == [], name


def test_haar_with_size_hints_searches_only_those_sizes(haar, astronaut):
    assert len(haar.detect(astronaut, min_face=75, max_face=135)) == 1
    assert haar.detect(astronaut, min_face=150) == []
    assert haar.detect(astronaut, max_face=60) == []


def test_haar_handles_images_smaller_than_its_window(haar):
    assert haar.detect(np.zeros((10, 10), np.uint8)) == []


def test_yunet_finds_the_astronaut_face(yunet, astronaut):
    assert yunet.wants_color is True
    boxes = yunet.detect(astronaut)
    assert len(boxes) == 1
    x, y = centre(boxes[0])
    assert abs(x - ASTRONAUT_FACE_CENTRE[0]) < 20 and abs(y - ASTRONAUT_FACE_CENTRE[1]) < 20
    assert_inside(boxes[0], astronaut.shape)


def test_yunet_finds_the_face_in_a_frame_and_in_gray(yunet, astronaut):
    frame = place_in_frame(astronaut, 110, 30)
    assert len(yunet.detect(frame)) == 1
    assert len(yunet.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))) == 1
    large = cv2.resize(frame, (1280, 960))  # downscaled before detection, boxes mapped back
    (box,) = yunet.detect(large)
    (small_box,) = yunet.detect(frame)
    assert abs(centre(box)[0] - 2 * centre(small_box)[0]) < 12


def test_yunet_finds_no_face_in_noise(yunet):
    assert yunet.detect(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)) == []


def test_yunet_refuses_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="YuNet model not found"):
        YuNetFaceDetector(tmp_path / "missing.onnx")


@pytest.mark.parametrize(("left", "top", "side"), [(110, 30, 420), (0, 0, 480), (250, 120, 350), (20, 90, 380)])
def test_haar_two_pass_search_finds_what_a_fine_search_of_the_whole_frame_finds(haar, astronaut, left, top, side):
    from emotions.recognition.pipeline import overlap

    gray = cv2.cvtColor(place_in_frame(astronaut, left, top, side=side), cv2.COLOR_BGR2GRAY)
    (fine,) = haar._search(gray)
    (two_pass,) = haar.detect(gray)
    assert overlap(fine, two_pass) > 0.6


def test_haar_coarse_pass_only_proposes_regions(haar):
    from skimage import data

    coins = data.coins()
    assert haar._candidates(coins)  # textures the coarse pass cannot tell from faces...
    assert haar.detect(coins) == []  # ...which the fine search then refuses


def test_haar_finds_two_faces_in_one_frame(haar, astronaut):
    frame = place_in_frame(astronaut, 0, 60, side=330)
    frame = place_in_frame(astronaut, 310, 60, side=330, frame=frame)
    assert len(haar.detect(frame)) == 2


def test_haar_following_search_finds_no_face_where_there_is_none(haar):
    from skimage import data

    noise = np.random.default_rng(2).integers(0, 256, (480, 640), dtype=np.uint8)
    images = [noise, *(getattr(data, name)() for name in ("chelsea", "coffee", "rocket", "coins", "camera"))]
    for image in images:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        for side in (48, 80, 120):  # the sizes a tracker asks for, over the whole image
            assert haar.detect(gray, min_face=round(side * 0.85), max_face=round(side * 1.2)) == []


def _frame_cut_from(photo, side, left, top):
    """A 640x480 frame cut out of `photo` scaled to `side` (the photo overflows the frame), with
    the astronaut's face centre in frame pixels."""
    scaled = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    frame = np.ascontiguousarray(scaled[top : top + 480, left : left + 640])
    scale = side / 512
    return frame, (ASTRONAUT_FACE_CENTRE[0] * scale - left, ASTRONAUT_FACE_CENTRE[1] * scale - top)


@pytest.mark.parametrize(("side", "left", "top"),
                         [(700, 0, 0), (900, 100, 0), (1100, 150, 20), (1300, 250, 40), (1800, 480, 140)])
def test_haar_finds_large_faces_close_to_the_camera(haar, astronaut, side, left, top):
    # Faces of ~135 to ~350 px in a 640x480 frame: the coarse pass's largest windows, where the
    # cascade's window moves by a single pixel of the scaled image.
    frame, expected = _frame_cut_from(astronaut, side, left, top)
    (box,) = haar.detect(frame)
    found = centre(box)
    assert abs(found[0] - expected[0]) < 0.15 * box[2] and abs(found[1] - expected[1]) < 0.15 * box[3]
    assert box[2] > 0.8 * 100 * side / 512  # the face is ~100 px wide in the 512 px photo

