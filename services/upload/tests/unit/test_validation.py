import io

import pillow_heif
import pytest
from PIL import Image

from photolane_upload.validation import (
    InvalidUpload,
    clean_filename,
    inspect_image,
    normalize_email,
    normalize_phone,
)

MB = 1024 * 1024


def _encode(fmt: str, size: tuple[int, int] = (80, 60), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "orange").save(out, fmt)
    return out.getvalue()


def _heic() -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (80, 60), "orange")).save(out, quality=80)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (_encode("JPEG"), "image/jpeg", "jpg"),
        (_encode("PNG", mode="RGBA"), "image/png", "png"),
        (_encode("WEBP"), "image/webp", "webp"),
        (_heic(), "image/heic", "heic"),
    ],
)
def test_accepted_formats(data: bytes, content_type: str, extension: str) -> None:
    info = inspect_image(data, 20 * MB, 50_000_000)
    assert (info.content_type, info.extension, info.width, info.height) == (content_type, extension, 80, 60)


def test_real_photo_is_accepted(faces_dir) -> None:
    info = inspect_image((faces_dir / "obama_2.jpg").read_bytes(), 20 * MB, 50_000_000)
    assert (info.format, info.width, info.height) == ("JPEG", 626, 1200)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text", "not a readable image"),
        (_encode("JPEG")[:20], "not a readable image"),
        (_encode("GIF"), "GIF images are not accepted"),
        (_encode("BMP"), "BMP images are not accepted"),
    ],
)
def test_refused_content(data: bytes, message: str) -> None:
    with pytest.raises(InvalidUpload, match=message) as refused:
        inspect_image(data, 20 * MB, 50_000_000)
    assert refused.value.status == 400


def test_corrupt_png_fails_verification() -> None:
    data = bytearray(_encode("PNG"))
    data[40] ^= 0xFF  # inside the first chunk: its CRC no longer matches
    with pytest.raises(InvalidUpload, match="not a readable image"):
        inspect_image(bytes(data), 20 * MB, 50_000_000)


def test_too_many_pixels_is_400_and_too_many_bytes_is_413() -> None:
    data = _encode("PNG", size=(3000, 2000), mode="L")
    with pytest.raises(InvalidUpload, match=r"3000x2000 \(6.0 MP\); the limit is 5 MP") as pixels:
        inspect_image(data, 20 * MB, 5_000_000)
    assert pixels.value.status == 400
    with pytest.raises(InvalidUpload, match="limit is 0.01 MB") as size:
        inspect_image(_encode("JPEG") + bytes(20_000), int(0.01 * MB), 50_000_000)
    assert size.value.status == 413


def test_email_is_normalized_or_refused() -> None:
    assert normalize_email("  Someone@Example.COM ") == "Someone@example.com"
    assert normalize_email("") is None
    with pytest.raises(InvalidUpload, match="email"):
        normalize_email("not-an-email")


@pytest.mark.parametrize("value", ["+14155550123", "+1 415 555 0123", "+44 20 7946 0958"])
def test_phone_in_e164(value: str) -> None:
    assert normalize_phone(value).startswith("+")
    assert " " not in normalize_phone(value)


@pytest.mark.parametrize("value", ["4155550123", "+1415", "+999999999999", "call me"])
def test_phone_not_in_e164_is_refused(value: str) -> None:
    with pytest.raises(InvalidUpload, match="E.164"):
        normalize_phone(value)


def test_filename_keeps_the_base_name_only() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\photos\\me.jpg") == "me.jpg"
    assert clean_filename("") is None
