"""Images built to hurt a decoder: real files whose headers promise costly work, and lying headers."""

from __future__ import annotations

import struct
import zlib
from functools import cache

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_16bit_rgba(width: int = 4096, height: int = 4096) -> bytes:
    """A real, valid 16-bit RGBA PNG of black pixels: ~130 KB that decode to 8 bytes a pixel."""
    row = b"\0" * (1 + width * 8)  # filter byte, then RGBA at 16 bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return PNG_MAGIC + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")


def png_claiming(width: int, height: int, *, bit_depth: int = 8, colour: int = 0) -> bytes:
    """A PNG header claiming any size (even 0 or 2**32-1), with an end chunk and no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return PNG_MAGIC + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG whose start-of-frame claims `width` x `height`, with a scan and an end marker."""
    frame = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    scan = b"\x01\x01\x00\x00\x3f\x00"
    return (b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame
            + b"\xff\xda" + struct.pack(">H", len(scan) + 2) + scan + b"\x00" * 16 + b"\xff\xd9")
