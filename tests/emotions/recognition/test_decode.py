import struct

import cv2
import numpy as np
import pytest

from emotions.recognition import InvalidImageError, decode_image
from emotions.recognition.decode import image_size


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """80x60 BGR: a colour gradient with a dark disc, smooth enough for JPEG to keep it close."""
    columns = np.linspace(0, 255, 80, dtype=np.uint8)
    image = np.stack([np.tile(columns, (60, 1)), np.full((60, 80), 120, np.uint8), np.tile(columns[::-1], (60, 1))], 2)
    cv2.circle(image, (40, 30), 15, (30, 30, 30), -1)
    return image


def encode(image: np.ndarray, extension: str, *params: int) -> bytes:
    ok, data = cv2.imencode(extension, image, list(params))
    assert ok
    return data.tobytes()


def test_decodes_jpeg_as_bgr(picture):
    decoded = decode_image(encode(picture, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 95))
    assert decoded.shape == (60, 80, 3)
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - picture).mean() < 4


def test_decodes_progressive_jpeg(picture):
    assert decode_image(encode(picture, ".jpg", cv2.IMWRITE_JPEG_PROGRESSIVE, 1)).shape == (60, 80, 3)


def test_decodes_png_exactly(picture):
    assert np.array_equal(decode_image(encode(picture, ".png")), picture)


def test_decodes_grayscale_when_asked(picture):
    gray = decode_image(encode(picture, ".png"), grayscale=True)
    assert gray.shape == (60, 80)
    assert np.abs(gray.astype(int) - cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)).max() <= 2


def test_reads_size_from_the_header(picture):
    assert image_size(encode(picture, ".jpg")) == (80, 60)
    assert image_size(encode(picture, ".png")) == (80, 60)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty image"),
        (b"GIF89a\x01\x00\x01\x00", "not a JPEG or PNG image"),
        (b"hello, this is not a picture", "not a JPEG or PNG image"),
    ],
)
def test_refuses_empty_and_unknown_bytes(data, message):
    with pytest.raises(InvalidImageError, match=message):
        decode_image(data)


def test_refuses_corrupt_jpeg(picture):
    data = bytearray(encode(picture, ".jpg"))
    data[4:40] = b"\x00" * 36  # the first segment's length and everything after it, up to byte 40, gone
    with pytest.raises(InvalidImageError, match="corrupt JPEG"):
        decode_image(bytes(data))


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.05])
def test_refuses_truncated_jpeg(picture, keep):
    data = encode(picture, ".jpg")
    truncated = data[: int(len(data) * keep)]
    with pytest.raises(InvalidImageError, match="truncated JPEG"):
        decode_image(truncated)


def test_refuses_truncated_png(picture):
    data = encode(picture, ".png")
    with pytest.raises(InvalidImageError, match="truncated PNG"):
        decode_image(data[: len(data) // 2])


def test_refuses_too_many_bytes_with_sizes_in_the_message(picture):
    data = encode(picture, ".png")
    padded = data + b"\x00" * (int(2.4 * 1024 * 1024) - len(data))
    with pytest.raises(InvalidImageError, match=r"image is 2\.4 MB; the limit is 2 MB"):
        decode_image(padded, max_bytes=2 * 1024 * 1024)


def with_header_size(data: bytes, width: int, height: int) -> bytes:
    """A copy of a small PNG or JPEG whose header claims another size (a decompression bomb's header)."""
    if data.startswith(b"\x89PNG"):
        return data[:16] + struct.pack(">II", width, height) + data[24:]
    frame_header = data.index(b"\xff\xc0")  # baseline start-of-frame: marker, length, precision, height, width
    return data[: frame_header + 5] + struct.pack(">HH", height, width) + data[frame_header + 9 :]


@pytest.mark.parametrize("extension", [".png", ".jpg"])
def test_refuses_too_many_pixels_before_decoding(picture, extension):
    data = with_header_size(encode(picture, extension), 9000, 9000)
    assert image_size(data) == (9000, 9000)
    with pytest.raises(InvalidImageError, match=r"image is 9000x9000 pixels; the limit is 16,777,216 pixels"):
        decode_image(data)


def test_pixel_limit_is_configurable(picture):
    with pytest.raises(InvalidImageError, match="image is 80x60 pixels; the limit is 1,000 pixels"):
        decode_image(encode(picture, ".png"), max_pixels=1000)


def test_invalid_image_error_is_a_value_error():
    assert issubclass(InvalidImageError, ValueError)
