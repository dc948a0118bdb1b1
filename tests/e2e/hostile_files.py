"""Hostile files and request bodies for tests/e2e/test_hostile.py, made from real bytes in the test."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pillow_heif
from PIL import Image


def photo_like(fmt: str = "JPEG", size: tuple[int, int] = (320, 240), **options: object) -> bytes:
    """Noise: every block is coded, so the file is as long (for its size) as a photo."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(11).randbytes(size[0] * size[1] * 3)).save(out, fmt, **options)
    return out.getvalue()


def solid(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "orange" if mode in ("RGB", "RGBA") else 128).save(out, fmt, **options)
    return out.getvalue()


def heic(size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.open(io.BytesIO(photo_like(size=size)))).save(out, quality=70)
    return out.getvalue()


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _jpeg_segment(data: bytes, markers: tuple[int, ...]) -> int:
    """Where the first segment with one of these markers starts (before the first scan)."""
    pos = 2
    while data[pos + 1] not in markers:
        assert data[pos + 1] != 0xDA, "no such segment before the scan"
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return pos


def with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its SOF0/SOF2 saying width x height; the data stays as it was."""
    start = _jpeg_segment(data, (0xC0, 0xC2))
    return data[:start + 5] + struct.pack(">HH", height, width) + data[start + 9:]


def with_jpeg_comment(data: bytes, comment: bytes) -> bytes:
    """A COM segment right after SOI (at most 65,533 bytes)."""
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_png_size(data: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR (and its CRC) saying width x height; the pixel data stays as it was."""
    return data[:8] + png_chunk(b"IHDR", struct.pack(">II", width, height) + data[24:29]) + data[33:]


def with_png_text(data: bytes, key: bytes, text: bytes) -> bytes:
    return data[:33] + png_chunk(b"tEXt", key + b"\x00" + text) + data[33:]


def png_of_zeros(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A real grey PNG of that size, all black: a few hundred KB that decode to width x height."""
    row = b"\x00" + bytes((width * bit_depth + 7) // 8)
    packer, rows = zlib.compressobj(9), []
    for _ in range(height):
        rows.append(packer.compress(row))
    rows.append(packer.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(rows))
            + png_chunk(b"IEND", b""))


def webp_lossless_of_size(width: int, height: int) -> bytes:
    """A lossless WebP of one colour whose VP8L header says width x height: ~36 bytes, and valid
    (a single-symbol Huffman code costs no bits), decoding to width x height."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "orange").save(out, "WEBP", lossless=True)
    data = out.getvalue()
    assert data[12:16] == b"VP8L"
    bits = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1) | (width - 1) | (height - 1) << 14
    return data[:21] + struct.pack("<I", bits) + data[25:]


def with_webp_lossy_size(data: bytes, width: int, height: int) -> bytes:
    """A lossy (VP8) WebP whose frame header says width x height; its data stays as it was."""
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    return data[:26] + struct.pack("<HH", width, height) + data[30:]


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload/run.sh", "#!/bin/sh\necho owned\n")
    return out.getvalue()


def pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, "PDF")
    return out.getvalue()


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" '
       b'onload="alert(1)"><script>alert(document.cookie)</script><rect width="64" height="48"/></svg>')
HTML = b"<!doctype html><html><body><script>fetch('/api/admin/export')</script></body></html>"


def part(name: bytes, content: bytes, filename: bytes | None = None, headers: bytes = b"",
         boundary: bytes = b"b") -> bytes:
    """One part of a multipart/form-data body, written by hand (any bytes where they go)."""
    disposition = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    return b"--" + boundary + b"\r\n" + disposition + b"\r\n" + headers + b"\r\n" + content + b"\r\n"


def multipart(*parts: bytes, boundary: bytes = b"b") -> bytes:
    return b"".join(parts) + b"--" + boundary + b"--\r\n"
