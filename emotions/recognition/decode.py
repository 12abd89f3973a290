"""Turning untrusted image bytes (JPEG or PNG) into a pixel array, or a clear `InvalidImageError`.

The checks run cheapest first: size, magic bytes, the dimensions in the header, truncation,
and only then the actual decoding, so that a decompression bomb is refused before memory is spent.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from emotions.recognition.errors import InvalidImageError

MEGABYTE = 1024 * 1024
DEFAULT_MAX_BYTES = 2 * MEGABYTE
DEFAULT_MAX_PIXELS = 4096 * 4096

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_END_OF_IMAGE = b"\xff\xd9"
JPEG_START_OF_SCAN = 0xDA
# Start-of-frame markers SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
JPEG_START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length field.
JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])


def image_format(data: bytes) -> str:
    """"jpeg" or "png" from the magic bytes; `InvalidImageError` for anything else."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    raise InvalidImageError("not a JPEG or PNG image")


def _jpeg_header(data: bytes) -> tuple[int, int, int]:
    """(width, height, offset of the first start-of-scan marker), read from the marker segments."""
    size = None
    position = 2
    while True:
        # Markers may be preceded by any number of 0xFF fill bytes.
        while position < len(data) and data[position] == 0xFF:
            position += 1
        if position >= len(data):
            raise InvalidImageError("truncated JPEG image (no image data)")
        marker = data[position]
        position += 1
        if data[position - 2] != 0xFF:
            raise InvalidImageError("corrupt JPEG image (bad marker)")
        if marker in JPEG_STANDALONE:
            continue
        if position + 2 > len(data):
            raise InvalidImageError("truncated JPEG image (header cut short)")
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2:
            raise InvalidImageError("corrupt JPEG image (bad segment length)")
        if position + length > len(data):
            raise InvalidImageError("truncated JPEG image (header cut short)")
        if marker in JPEG_START_OF_FRAME:
            if length < 7:
                raise InvalidImageError("corrupt JPEG image (bad frame header)")
            height, width = struct.unpack(">HH", data[position + 3 : position + 7])
            size = (width, height)
        elif marker == JPEG_START_OF_SCAN:
            if size is None:
                raise InvalidImageError("corrupt JPEG image (no frame header)")
            return size[0], size[1], position - 2
        position += length


def _png_size(data: bytes) -> tuple[int, int]:
    # The first chunk must be IHDR: length (4), type (4), width (4), height (4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise InvalidImageError("truncated or corrupt PNG image (no header)")
    return struct.unpack(">II", data[16:24])


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header of a JPEG or PNG, without decoding the pixels."""
    if image_format(data) == "jpeg":
        width, height, _ = _jpeg_header(data)
        return width, height
    return _png_size(data)


def _check_complete(data: bytes, kind: str, scan_start: int) -> None:
    """Refuse truncated files: OpenCV would decode them partially, grey below the cut."""
    if kind == "jpeg":
        # Inside entropy-coded data every 0xFF is followed by 0x00 or a restart marker,
        # so an end-of-image marker after the first scan is the real end.
        if data.find(JPEG_END_OF_IMAGE, scan_start) < 0:
            raise InvalidImageError("truncated JPEG image (no end-of-image marker)")
    elif data.rfind(b"IEND") < 0:
        raise InvalidImageError("truncated PNG image (no end chunk)")


def _format_megabytes(size: int) -> str:
    return f"{size / MEGABYTE:.1f}".removesuffix(".0") + " MB"


def decode_image(
    data: bytes | bytearray | memoryview,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    grayscale: bool = False,
) -> np.ndarray:
    """Decode a JPEG or PNG into a uint8 array: BGR (H, W, 3), or (H, W) with `grayscale=True`.

    Raises `InvalidImageError` for empty, unknown, corrupt, truncated or too large input.
    """
    data = bytes(data)
    if not data:
        raise InvalidImageError("empty image")
    if len(data) > max_bytes:
        raise InvalidImageError(
            f"image is {_format_megabytes(len(data))}; the limit is {_format_megabytes(max_bytes)}"
        )
    kind = image_format(data)
    if kind == "jpeg":
        width, height, scan_start = _jpeg_header(data)
    else:
        (width, height), scan_start = _png_size(data), 0
    if width == 0 or height == 0:
        raise InvalidImageError(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise InvalidImageError(
            f"image is {width}x{height} pixels; the limit is {max_pixels:,} pixels"
        )
    _check_complete(data, kind, scan_start)
    flags = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise InvalidImageError(f"corrupt {kind.upper()} image (could not be decoded)")
    return image
