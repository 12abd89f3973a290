"""POST /api/predict/: a real face photo in, one face out; every kind of bad upload refused with the reason."""

import struct
import zlib

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame
from training.core.labels import EMOTIONS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def face_jpeg() -> bytes:
    """scikit-image's astronaut in a 640x480 frame: one frontal face."""
    return encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (a decompression bomb's calling card)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + end


def assert_one_face(body: dict) -> None:
    assert len(body["faces"]) == 1, body
    face = body["faces"][0]
    x, y, width, height = face["box"]
    assert width > 60 and height > 60 and x >= 0 and y >= 0
    assert face["emotion"] in EMOTIONS
    assert set(face["scores"]) == set(EMOTIONS)
    assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    assert face["emotion"] == max(face["scores"], key=face["scores"].get)


def test_multipart_upload_of_a_real_face(recognition_model, alice_api, face_jpeg):
    upload = SimpleUploadedFile("face.jpg", face_jpeg, content_type="image/jpeg")
    response = alice_api.post(reverse("api-predict"), {"image": upload}, format="multipart")
    assert response.status_code == 200, response.content
    assert_one_face(response.json())


def test_raw_jpeg_and_png_bodies(recognition_model, alice_api, face_jpeg):
    response = alice_api.generic("POST", reverse("api-predict"), face_jpeg, content_type="image/jpeg")
    assert response.status_code == 200, response.content
    assert_one_face(response.json())
    _, png = cv2.imencode(".png", cv2.imdecode(np.frombuffer(face_jpeg, np.uint8), cv2.IMREAD_COLOR))
    response = alice_api.generic("POST", reverse("api-predict"), png.tobytes(), content_type="image/png")
    assert response.status_code == 200
    assert_one_face(response.json())


def test_an_image_without_faces_gives_an_empty_list(recognition_model, alice_api):
    blank = encode_jpeg(np.full((240, 320, 3), 128, np.uint8))
    response = alice_api.generic("POST", reverse("api-predict"), blank, content_type="image/jpeg")
    assert response.status_code == 200 and response.json() == {"faces": []}


@pytest.mark.parametrize(("body", "content_type", "status", "reason"), [
    (b"", "image/jpeg", 400, "empty image"),
    (b"hello, I am a text file\n", "image/jpeg", 400, "not a JPEG or PNG"),
    (b"{}", "application/json", 415, "'application/json' is not accepted"),
    (b"hello", "text/plain", 415, "'text/plain' is not accepted"),
    (png_header_only(50_000, 50_000), "image/png", 400, "50000x50000 pixels"),
])
def test_bad_raw_bodies(recognition_model, alice_api, body, content_type, status, reason):
    response = alice_api.generic("POST", reverse("api-predict"), body, content_type=content_type)
    assert response.status_code == status
    assert reason in response.json()["detail"]


def test_truncated_jpeg(recognition_model, alice_api, face_jpeg):
    response = alice_api.generic("POST", reverse("api-predict"), face_jpeg[: len(face_jpeg) // 2],
                                 content_type="image/jpeg")
    assert response.status_code == 400 and "truncated JPEG" in response.json()["detail"]


def test_multipart_problems(recognition_model, alice_api):
    url = reverse("api-predict")
    response = alice_api.post(url, {"other": "field"}, format="multipart")
    assert response.status_code == 400 and "no file in the field 'image'" in response.json()["detail"]
    text = SimpleUploadedFile("notes.txt", b"just some words", content_type="text/plain")
    response = alice_api.post(url, {"image": text}, format="multipart")
    assert response.status_code == 400 and "not a JPEG or PNG" in response.json()["detail"]
    empty = SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg")
    response = alice_api.post(url, {"image": empty}, format="multipart")
    assert response.status_code == 400


def test_too_many_bytes_is_413(recognition_model, alice_api, settings, face_jpeg):
    settings.PREDICT_MAX_BYTES = len(face_jpeg) - 1
    url = reverse("api-predict")
    response = alice_api.generic("POST", url, face_jpeg, content_type="image/jpeg")
    assert response.status_code == 413
    assert f"limit is {len(face_jpeg) - 1:,} bytes" in response.json()["detail"]
    upload = SimpleUploadedFile("face.jpg", face_jpeg, content_type="image/jpeg")
    response = alice_api.post(url, {"image": upload}, format="multipart")
    assert response.status_code == 413


def test_default_limit_is_8_megabytes(recognition_model, alice_api):
    huge = b"\xff\xd8\xff" + bytes(8 * 1024 * 1024)
    response = alice_api.generic("POST", reverse("api-predict"), huge, content_type="image/jpeg")
    assert response.status_code == 413 and "8 MB" in response.json()["detail"]


def test_missing_model_is_503(settings, alice_api, tmp_path, face_jpeg):
    settings.EMOTION_MODEL_DIR = tmp_path / "no-model-here"
    from training.models import ModelVersion

    ModelVersion.objects.update(is_active=False)  # a registered model would be used instead
    response = alice_api.generic("POST", reverse("api-predict"), face_jpeg, content_type="image/jpeg")
    assert response.status_code == 503


def test_the_api_has_its_own_pixel_limit_apart_from_a_live_frames(recognition_model, alice_api, face_jpeg, settings):
    settings.MAX_FRAME_PIXELS = 320 * 240  # live frames: smaller than this 640x480 photo
    response = alice_api.generic("POST", reverse("api-predict"), face_jpeg, content_type="image/jpeg")
    assert response.status_code == 200, response.content

    settings.PREDICT_MAX_PIXELS = 320 * 240
    response = alice_api.generic("POST", reverse("api-predict"), face_jpeg, content_type="image/jpeg")
    assert response.status_code == 400
    assert response.json()["detail"] == "image is 640x480 pixels; the limit is 76,800 pixels"
