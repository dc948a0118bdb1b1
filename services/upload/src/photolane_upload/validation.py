"""What an upload must be: checked by content, without AWS. Each failure says what is wrong."""

from __future__ import annotations

import io
import json
import math
import os
import re
import threading
from dataclasses import dataclass

import phonenumbers
import pillow_heif
from email_validator import EmailNotValidError, validate_email
from PIL import Image, ImageFile, UnidentifiedImageError

from . import strictjpeg

pillow_heif.register_heif_opener()

# Pillow format → (content type, file extension)
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}
# The only Pillow parsers that see an upload: the accepted formats, and a few common ones named in
# the refusal. Anything else is "not a readable image" without Pillow's other plugins reading it.
OPENED_FORMATS = (*ACCEPTED_FORMATS, "GIF", "BMP", "TIFF", "ICO", "AVIF")
UNREADABLE = "the file is not a readable image (JPEG, PNG, WebP or HEIC)"


class InvalidUpload(ValueError):
    """Refused with this HTTP status and message; ``reason`` is a short code for the metrics (UploadsRefused)."""

    def __init__(self, message: str, status: int = 400, reason: str = "invalid",
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # seconds, for a 429's Retry-After

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    extension: str
    width: int
    height: int


def inspect_image(data: bytes, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Open the bytes as an accepted image within the limits, and decode it whole (cheaply), so
    that what is accepted is what the processor can read: cut-short, damaged or lying files are
    refused here in milliseconds, not failed later."""
    if not data:
        raise InvalidUpload("the file is empty", reason="empty")
    if len(data) > max_bytes:
        raise InvalidUpload(f"the file is {megabytes(len(data))} MB; the limit is {max_bytes / 1e6:g} MB", status=413,
                            reason="too_large")
    try:
        _check_layout(data)  # before Pillow's own header loops, which go segment by segment
        with Image.open(io.BytesIO(data), formats=OPENED_FORMATS) as image:
            info = _accepted(image, max_pixels)  # the pixel limit, before anything is decoded
            image.verify()  # PNG: every chunk's CRC
    except InvalidUpload:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidUpload(f"the image has too many pixels; the limit is {max_pixels / 1e6:g} MP",
                            reason="too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidUpload(UNREADABLE, reason="not_image") from exc
    _check_decode_memory(info)
    try:
        with _DECODING:
            _decode(data, info.format)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidUpload("the image is cut short or damaged: it does not decode", reason="damaged") from exc
    return info


# Peak memory of one decode, measured at 49 MP: a progressive JPEG's coefficients at 1/8 scale about
# 3 bytes a pixel, PNG 4, HEIC 7 (8-bit), WebP 16 (Pillow's WebP decoder holds four full-size
# buffers: 36 bytes of valid lossless WebP decode to 750 MB). One decode at a time per worker
# process (its threads wait their turn: tens of milliseconds for a JPEG, up to a second for a 50 MP
# PNG), each within DECODE_MAX_BYTES, so decoding never takes more than that a worker: the AWS task
# runs 2 workers in 1 GB. At the default 50 MP limit this refuses only WebP above 26 MP.
DECODE_BYTES_PER_PIXEL = {"JPEG": 3, "PNG": 4, "HEIF": 7, "WEBP": 16}
DECODE_MAX_BYTES = 400 * 2**20
_DECODING = threading.Lock()


def _check_decode_memory(info: ImageInfo) -> None:
    pixels = info.width * info.height
    per_pixel = DECODE_BYTES_PER_PIXEL[info.format]
    if pixels * per_pixel > DECODE_MAX_BYTES:
        name = {"HEIF": "HEIC", "WEBP": "WebP"}.get(info.format, info.format)
        raise InvalidUpload(f"{name} images of more than {DECODE_MAX_BYTES // per_pixel / 1e6:.0f} MP are not "
                            f"accepted; this one is {info.width}x{info.height} ({pixels / 1e6:.1f} MP)",
                            reason="too_many_pixels")


def _decode(data: bytes, fmt: str) -> None:
    """Every byte of the image through its decoder, as the processor will decode it. A JPEG at 1/8
    scale: its entropy-coded data is read whole all the same, without the full-size IDCT and
    buffers. Of an animation, the first frame: the processor reads no other."""
    _decode_pillow(data, fmt)
    if fmt == "JPEG" and strictjpeg.available() and (problem := strictjpeg.problem(data)):
        raise ValueError(problem)  # e.g. "Premature end of JPEG file": Pillow would have shown grey


def _decode_pillow(data: bytes, fmt: str) -> None:
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a missing end is an error, never grey (face_recognition sets it)
    with Image.open(io.BytesIO(data), formats=(fmt,)) as image:
        if fmt == "JPEG":
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()


# What Pillow and libjpeg let through with no error but a warning, or spend seconds on: checked
# first, by walking the file's structure (the JPEG's entropy-coded data is skipped by a regex).
JPEG_MAX_SEGMENTS = 1000  # markers with a length; a phone photo has about 15, a progressive one 30
JPEG_MAX_SCANS = 100  # each scan is a pass over every block: a "scan bomb" repeats tiny ones
JPEG_MAX_STRAY_BYTES = 65536  # fill or junk between segments, which Pillow reads one byte at a time
PNG_MAX_CHUNKS = 50_000  # a 20 MB PNG in 8 KB IDATs has 2,500
_JPEG_ARITHMETIC = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7} | _JPEG_ARITHMETIC
_JPEG_MARKER = re.compile(rb"\xff[\x01-\xfe]")  # a marker (after fill bytes, if any); no "+": linear
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # in entropy-coded data: a marker but RSTn
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_layout(data: bytes) -> None:
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data)
    elif data.startswith(_PNG_SIGNATURE):
        _check_png(data)


def _check_jpeg(data: bytes) -> None:
    """Refuse the JPEGs libjpeg decodes with a mere warning or at great cost: a frame larger than its
    scans can hold (libjpeg would fill the rest with grey: a 700-byte file "decodes" to 49 MP), too
    many scans or segments, arithmetic coding. Anything else malformed is left to the decoder."""
    pos, segments, scans, stray, coded = 2, 0, 0, 0, 0
    frame: tuple[int, int, list[tuple[int, int]]] | None = None
    while (found := _JPEG_MARKER.search(data, pos)) is not None:
        stray += found.start() - pos  # junk and fill bytes since the last segment
        marker, pos = data[found.start() + 1], found.end()
        if stray > JPEG_MAX_STRAY_BYTES:
            raise InvalidUpload("the JPEG has stray bytes between its segments", reason="damaged")
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD8 or marker == 0x01 or pos + 2 > len(data):  # RSTn, SOI, TEM: no length
            continue
        length = int.from_bytes(data[pos:pos + 2], "big")
        segments += 1
        if segments > JPEG_MAX_SEGMENTS:
            raise InvalidUpload(f"the JPEG has more than {JPEG_MAX_SEGMENTS} segments", reason="damaged")
        if marker in _JPEG_ARITHMETIC:
            raise InvalidUpload("arithmetic-coded JPEGs are not accepted; save it as a standard JPEG",
                                reason="not_image")
        if marker in _JPEG_FRAMES and frame is None:
            frame = _jpeg_frame(data[pos + 2:pos + length])
        pos += length
        if marker == 0xDA:  # SOS: the scan's entropy-coded data runs to the next marker but RSTn
            scans += 1
            if scans > JPEG_MAX_SCANS:
                raise InvalidUpload(f"the JPEG has more than {JPEG_MAX_SCANS} scans", reason="damaged")
            end = _JPEG_SCAN_END.search(data, pos)
            coded += (end.start() if end else len(data)) - pos
            pos = end.start() if end else len(data)
    if frame is not None:
        width, height, sampling = frame
        # Every block of at least one component is coded with at least one bit (a Huffman code).
        h_max, v_max = max(h for h, _ in sampling), max(v for _, v in sampling)
        blocks = min(math.ceil(math.ceil(width * h / h_max) / 8) * math.ceil(math.ceil(height * v / v_max) / 8)
                     for h, v in sampling)
        if coded * 8 < blocks:
            raise InvalidUpload(f"the image says it is {width}x{height} but holds too little data for that: "
                                "its header is wrong or the file is cut short", reason="damaged")


def _jpeg_frame(body: bytes) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Width, height and each component's sampling factors of a SOFn segment (None if malformed)."""
    if len(body) < 6 or len(body) < 6 + 3 * body[5]:
        return None
    sampling = [(body[i] >> 4, body[i] & 15) for i in range(7, 6 + 3 * body[5], 3)]
    if not sampling or min(min(h, v) for h, v in sampling) == 0:
        return None
    return int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big"), sampling


def _check_png(data: bytes) -> None:
    """Refuse a PNG of countless tiny chunks (Pillow reads each in Python: seconds for 20 MB)."""
    pos, chunks = len(_PNG_SIGNATURE), 0
    while pos + 8 <= len(data) and data[pos + 4:pos + 8] != b"IEND":
        chunks += 1
        if chunks > PNG_MAX_CHUNKS:
            raise InvalidUpload(f"the PNG has more than {PNG_MAX_CHUNKS} chunks", reason="damaged")
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")


def megabytes(size: int) -> str:
    """A size as people read it on their phone or computer: megabytes (10^6 bytes), one decimal,
    rounded up, so a file over the limit never reads as the limit (20,000,001 bytes is "20.1")."""
    return f"{math.ceil(size / 1e5) / 10:.1f}"


def _accepted(image: Image.Image, max_pixels: int) -> ImageInfo:
    # A phone's JPEG with a second picture in it (MPF: depth or gain maps) is a JPEG whose first
    # picture is the photo: accepted as one (the processor reads the first picture only).
    fmt = "JPEG" if image.format == "MPO" else image.format
    if fmt not in ACCEPTED_FORMATS:
        raise InvalidUpload(f"{image.format} images are not accepted; send JPEG, PNG, WebP or HEIC",
                            reason="not_image")
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidUpload(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP); the limit is {max_pixels / 1e6:g} MP",
            reason="too_many_pixels",
        )
    content_type, extension = ACCEPTED_FORMATS[fmt]
    return ImageInfo(fmt, content_type, extension, width, height)


def normalize_email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidUpload(f"email: {exc}", reason="bad_email") from exc


_PHONE_CHARACTERS = re.compile(r"\+[0-9 ().-]+")


def normalize_phone(value: str | None) -> str | None:
    """An E.164 number (+ country code and number), e.g. +14155552671."""
    value = (value or "").strip()
    if not value:
        return None
    hint = "phone must be in E.164 form: + country code and number, e.g. +14155552671"
    if not _PHONE_CHARACTERS.fullmatch(value):  # phonenumbers reads letters as keypad digits, "++" as "+"
        raise InvalidUpload(hint, reason="bad_phone")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidUpload(hint, reason="bad_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidUpload(f"phone {value} is not a valid number; {hint}", reason="bad_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MAX_ATTRIBUTES_BYTES = 4096


def _readable(text: str, what: str) -> str:
    """Text that can be stored and shown: UTF-8 (a lone surrogate, which JSON's \\ud800 can carry, cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(exc.object[exc.start])
        raise InvalidUpload(f"{what} is not valid text (it has a lone surrogate, \\u{code:04x})") from exc
    return text


def person_name(value: str | None) -> str:
    name = " ".join(_readable(value or "", "name").split())
    if not name:
        raise InvalidUpload("name is required")
    if len(name) > 100:
        raise InvalidUpload("name is longer than 100 characters")
    return name


def person_attributes(value: str | None) -> dict[str, object]:
    """A JSON object of simple values, e.g. {"role": "student", "year": 2}."""
    if value is None or not value.strip():
        return {}
    if len(_readable(value, "attributes").encode()) > MAX_ATTRIBUTES_BYTES:
        raise InvalidUpload(f"attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes")
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except ValueError as exc:
        raise InvalidUpload(f"attributes are not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidUpload('attributes must be a JSON object, e.g. {"role": "student"}')
    for key, item in parsed.items():
        _readable(key, "an attribute's name")
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise InvalidUpload(f"attribute {key!r} must be a string, number, true/false or null")
        if isinstance(item, float) and not math.isfinite(item):  # 1e999 reads as infinity
            raise InvalidUpload(f"attribute {key!r} is not a finite number")
        if isinstance(item, str):
            _readable(item, f"attribute {key!r}")
    return parsed


def _no_constant(name: str) -> object:
    """NaN and Infinity are not JSON (Python reads them): every answer naming the person would break."""
    raise ValueError(f"{name} is not a number JSON allows")


def clean_filename(name: str | None) -> str | None:
    """The base name only, printable, at most 200 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] if base.strip(".") else None  # "." and ".." are no names
