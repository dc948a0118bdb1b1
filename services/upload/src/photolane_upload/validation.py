"""What an upload must be: checked by content, without AWS. Each failure says what is wrong."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

import phonenumbers
import pillow_heif
from email_validator import EmailNotValidError, validate_email
from PIL import Image, UnidentifiedImageError

pillow_heif.register_heif_opener()

# Pillow format → (content type, file extension)
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}


class InvalidUpload(ValueError):
    """Refused with this HTTP status and message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    extension: str
    width: int
    height: int


def inspect_image(data: bytes, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Open and verify the bytes as an accepted image within the limits."""
    if not data:
        raise InvalidUpload("the file is empty")
    if len(data) > max_bytes:
        raise InvalidUpload(f"the file is {_mb(len(data))} MB; the limit is {_mb(max_bytes)} MB", status=413)
    try:
        with Image.open(io.BytesIO(data)) as image:
            info = _accepted(image, max_pixels)
            image.verify()
    except InvalidUpload:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidUpload(f"the image has too many pixels; the limit is {max_pixels / 1e6:g} MP") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidUpload("the file is not a readable image (JPEG, PNG, WebP or HEIC)") from exc
    return info


def _mb(size: int) -> str:
    return f"{size / 2**20:.3g}"


def _accepted(image: Image.Image, max_pixels: int) -> ImageInfo:
    if image.format not in ACCEPTED_FORMATS:
        raise InvalidUpload(f"{image.format} images are not accepted; send JPEG, PNG, WebP or HEIC")
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidUpload(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP); the limit is {max_pixels / 1e6:g} MP"
        )
    content_type, extension = ACCEPTED_FORMATS[image.format]
    return ImageInfo(image.format, content_type, extension, width, height)


def normalize_email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidUpload(f"email: {exc}") from exc


def normalize_phone(value: str | None) -> str | None:
    """An E.164 number (+ country code and number), e.g. +14155550123."""
    value = (value or "").strip()
    if not value:
        return None
    hint = "phone must be in E.164 form: + country code and number, e.g. +14155550123"
    if not value.startswith("+"):
        raise InvalidUpload(hint)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidUpload(hint) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidUpload(f"phone {value} is not a valid number; {hint}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MAX_ATTRIBUTES_BYTES = 4096


def person_name(value: str | None) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise InvalidUpload("name is required")
    if len(name) > 100:
        raise InvalidUpload("name is longer than 100 characters")
    return name


def person_attributes(value: str | None) -> dict[str, object]:
    """A JSON object of simple values, e.g. {"role": "student", "year": 2}."""
    if value is None or not value.strip():
        return {}
    if len(value.encode()) > MAX_ATTRIBUTES_BYTES:
        raise InvalidUpload(f"attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes")
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise InvalidUpload(f"attributes are not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidUpload('attributes must be a JSON object, e.g. {"role": "student"}')
    for key, item in parsed.items():
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise InvalidUpload(f"attribute {key!r} must be a string, number, true/false or null")
    return parsed


def clean_filename(name: str | None) -> str | None:
    """The base name only, printable, at most 200 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] or None
