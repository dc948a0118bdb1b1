import io
import random
import re
import struct
import time
import zipfile
import zlib

import pillow_heif
import pytest
from PIL import Image, ImageFile

from photolane_upload.validation import (
    InvalidUpload,
    clean_filename,
    inspect_image,
    normalize_email,
    normalize_phone,
    person_attributes,
    person_name,
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
        inspect_image(_encode("JPEG") + bytes(20_000), 10_000, 50_000_000)
    assert size.value.status == 413
    with pytest.raises(InvalidUpload, match=r"the file is 2.1 MB; the limit is 2 MB"):  # one byte over: rounded up
        inspect_image(_encode("JPEG") + bytes(2_000_000), 2_000_000, 50_000_000)
    with pytest.raises(InvalidUpload, match=r"the file is 21.0 MB; the limit is 20 MB"):
        inspect_image(bytes(21_000_000), 20_000_000, 50_000_000)


def test_email_is_normalized_or_refused() -> None:
    assert normalize_email("  Someone@Example.COM ") == "Someone@example.com"
    assert normalize_email("") is None
    with pytest.raises(InvalidUpload, match="email"):
        normalize_email("not-an-email")


@pytest.mark.parametrize("value", ["+14155550123", "+1 415 555 0123", "+44 20 7946 0958"])
def test_phone_in_e164(value: str) -> None:
    assert normalize_phone(value).startswith("+")
    assert " " not in normalize_phone(value)


@pytest.mark.parametrize("value", ["4155550123", "+1415", "+999999999999", "call me", "+1415555ABCD",
                                   "++14155550123", "+1 415 555 0123 ext 5", "+１４１５５５５０１２３"])
def test_phone_not_in_e164_is_refused(value: str) -> None:
    with pytest.raises(InvalidUpload, match="E.164"):
        normalize_phone(value)


def test_filename_keeps_the_base_name_only() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\photos\\me.jpg") == "me.jpg"
    assert clean_filename("") is None
    assert clean_filename("..") is None and clean_filename("a/..") is None and clean_filename("...") is None
    assert clean_filename("a\x00b\u202egpj.exe") == "abgpj.exe"  # control and bidi characters go
    assert len(clean_filename("x" * 5000 + ".jpg")) == 200


# -- decoded, not only opened: cut, damaged and lying files are refused at upload ------------------
def _photo_like(fmt: str = "JPEG", size: tuple[int, int] = (320, 240), **options: object) -> bytes:
    """Noise: every block has coefficients, so the entropy-coded data is as long as a photo's."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3)).save(out, fmt, **options)
    return out.getvalue()


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each JPEG segment before the first scan's data."""
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        found.append((data[pos + 1], pos, end))
        pos = end
    return found


def _with_frame_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG whose SOFn says it is width x height (the data stays as it was)."""
    _, start, _ = next(s for s in _segments(data) if s[0] in (0xC0, 0xC2))
    return data[:start + 5] + struct.pack(">HH", height, width) + data[start + 9:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with_size(data: bytes, width: int, height: int) -> bytes:
    """The same PNG whose IHDR (CRC made right) says it is width x height."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:]


def _refused(data: bytes, message: str, max_pixels: int = 50_000_000) -> float:
    """Refused (400) with that message; returns the seconds it took."""
    started = time.perf_counter()
    with pytest.raises(InvalidUpload, match=message) as refused:
        inspect_image(data, 20 * MB, max_pixels)
    assert refused.value.status == 400
    return time.perf_counter() - started


JPEG = _photo_like()
CUT = "cut short or damaged: it does not decode"


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999], ids=lambda k: f"{k:.1%} kept")
def test_truncated_jpeg_is_refused(keep: float) -> None:
    _refused(JPEG[: int(len(JPEG) * keep)], CUT)


def test_jpeg_without_its_end_marker_is_refused() -> None:
    _refused(JPEG[:-2], CUT)


def test_truncated_jpeg_is_refused_even_when_the_process_loads_truncated_images(monkeypatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing face_recognition does
    _refused(JPEG[: len(JPEG) // 2], CUT)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_tiny_jpeg_claiming_49_mp_is_refused_at_once(progressive: bool) -> None:
    tiny = _encode("JPEG", size=(16, 16)) if not progressive else _photo_like(size=(16, 16), progressive=True)
    lying = _with_frame_size(tiny, 7000, 7000)
    assert len(lying) < 1000 and Image.open(io.BytesIO(lying)).size == (7000, 7000)
    # libjpeg alone "decodes" it (the missing blocks come out grey, with only a warning)
    assert _refused(lying, "says it is 7000x7000 but holds too little data") < 0.05


def test_a_jpeg_cut_short_with_an_end_marker_added_is_refused() -> None:
    """libjpeg fills the missing part with grey and only warns: libjpeg-turbo's warnings are errors here."""
    _refused(JPEG[: len(JPEG) // 2] + b"\xff\xd9", CUT)


def test_a_noisy_jpeg_claiming_a_larger_size_than_its_data_is_refused() -> None:
    noise = Image.frombytes("RGB", (320, 240), random.Random(7).randbytes(320 * 240 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    _refused(_with_frame_size(out.getvalue(), 3200, 2400), CUT)  # enough bytes to pass the size check


def test_a_phone_jpeg_with_a_second_picture_is_accepted_as_jpeg() -> None:
    out = io.BytesIO()
    photo, gain_map = Image.new("RGB", (640, 480), "orange"), Image.new("RGB", (320, 240), "grey")
    photo.save(out, "MPO", save_all=True, append_images=[gain_map])
    info = inspect_image(out.getvalue(), 20 * MB, 50_000_000)
    assert (info.format, info.content_type, info.extension, info.width) == ("JPEG", "image/jpeg", "jpg", 640)


def test_a_jpeg_claiming_ten_times_its_size_is_refused() -> None:
    _refused(_with_frame_size(_encode("JPEG", size=(64, 64)), 640, 640), "says it is 640x640")


def test_a_jpeg_with_more_scans_than_any_encoder_writes_is_refused() -> None:
    """A "scan bomb": the same tiny scan over and over, each one a pass over every block."""
    progressive = _photo_like(progressive=True)
    scan_start = progressive.rindex(b"\xff\xda")
    last_scan = progressive[scan_start:-2]
    assert _refused(progressive[:-2] + last_scan * 100 + b"\xff\xd9", "more than 100 scans") < 0.05


def test_a_jpeg_of_countless_segments_is_refused() -> None:
    comments = b"\xff\xfe\x00\x02" * 1001
    _refused(JPEG[:2] + comments + JPEG[2:], "more than 1000 segments")
    inspect_image(JPEG[:2] + b"\xff\xfe\x00\x02" * 100 + JPEG[2:], 20 * MB, 50_000_000)


def test_stray_bytes_between_jpeg_segments() -> None:
    _, _, app0_end = _segments(JPEG)[0]
    inspect_image(JPEG[:app0_end] + b"\xff" * 8 + JPEG[app0_end:], 20 * MB, 50_000_000)  # fill bytes are legal
    _refused(JPEG[:app0_end] + b"\xff" * 70_000 + JPEG[app0_end:], "stray bytes")
    _refused(JPEG[:app0_end] + b"A" * 70_000 + JPEG[app0_end:], "stray bytes")
    # a long run of 0xFF that is no marker after all: one linear pass, not one per byte
    assert _refused(JPEG[:app0_end] + b"\xff" * 2 * MB + b"\x00" + JPEG[app0_end:], "stray bytes") < 0.5


def test_arithmetic_coded_jpeg_is_refused() -> None:
    _, start, _ = next(s for s in _segments(JPEG) if s[0] == 0xC0)
    arithmetic = JPEG[:start + 1] + b"\xc9" + JPEG[start + 2:]
    _refused(arithmetic, "arithmetic-coded JPEGs are not accepted")


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"subsampling": 0}, {"optimize": True}],
                         ids=["baseline", "progressive", "4:4:4", "optimized"])
def test_every_kind_of_ordinary_jpeg_is_accepted(options: dict[str, object]) -> None:
    assert inspect_image(_photo_like(**options), 20 * MB, 50_000_000).width == 320


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_are_accepted(mode: str) -> None:
    info = inspect_image(_encode("JPEG", size=(200, 100), mode=mode), 20 * MB, 50_000_000)
    assert (info.width, info.height) == (200, 100)


def test_a_jpeg_with_data_after_its_end_is_accepted() -> None:
    """Phones append videos (motion photos) after the end marker: the image itself decodes whole."""
    zip_file = io.BytesIO()
    with zipfile.ZipFile(zip_file, "w") as archive:
        archive.writestr("a.txt", "hello")
    assert inspect_image(JPEG + zip_file.getvalue(), 20 * MB, 50_000_000).format == "JPEG"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.3, 0.8, 0.99], ids=lambda k: f"{k:.0%} kept")
def test_truncated_png_and_webp_are_refused(fmt: str, keep: float) -> None:
    data = _photo_like(fmt)
    with pytest.raises(InvalidUpload, match="not a readable image|does not decode"):
        inspect_image(data[: int(len(data) * keep)], 20 * MB, 50_000_000)


def test_truncated_heic_is_refused() -> None:
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.open(io.BytesIO(_photo_like()))).save(out, quality=80)
    data = out.getvalue()
    assert inspect_image(data, 20 * MB, 50_000_000).format == "HEIF"
    with pytest.raises(InvalidUpload, match="not a readable image|does not decode"):
        inspect_image(data[: len(data) * 3 // 4], 20 * MB, 50_000_000)


def test_png_whose_compressed_data_is_damaged_but_whose_crcs_are_right_is_refused() -> None:
    data = _photo_like("PNG")
    start = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[start:start + 4])[0]
    body = bytearray(data[start + 8:start + 8 + length])
    body[len(body) // 2:len(body) // 2 + 64] = bytes(64)  # the deflate stream no longer decodes
    damaged = data[:start] + _png_chunk(b"IDAT", bytes(body)) + data[start + 12 + length:]
    _refused(damaged, CUT)


def test_png_claiming_more_rows_than_it_holds_is_refused_quickly() -> None:
    lying = _png_with_size(_encode("PNG", size=(16, 16)), 7000, 7000)
    assert _refused(lying, CUT) < 0.1


def test_png_decompression_bomb_is_refused_before_decoding() -> None:
    _refused(_png_with_size(_encode("PNG", size=(16, 16)), 100_000, 100_000), "too many pixels|the limit is 50 MP")
    _refused(_png_with_size(_encode("PNG", size=(16, 16)), 8000, 7000), r"8000x7000 \(56.0 MP\)")


def test_png_of_countless_chunks_is_refused() -> None:
    data = _encode("PNG")
    many = data[:33] + _png_chunk(b"tEXt", b"k\x00v") * 50_001 + data[33:]
    _refused(many, "more than 50000 chunks")


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animations_are_accepted_by_their_first_frame(fmt: str) -> None:
    """The processor decodes the first frame only (its copies are stills), so that is what must decode."""
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(out.getvalue())).n_frames == 3
    assert inspect_image(out.getvalue(), 20 * MB, 50_000_000).format == fmt


@pytest.mark.parametrize(("fmt", "message"), [("TIFF", "TIFF images are not accepted"),
                                              ("ICO", "ICO images are not accepted"),
                                              ("TGA", "not a readable image"), ("PCX", "not a readable image")])
def test_other_formats_are_named_or_not_even_parsed(fmt: str, message: str) -> None:
    _refused(_encode(fmt), message)


def test_a_webp_too_large_to_decode_within_the_memory_budget_is_refused_before_decoding() -> None:
    """36 bytes of lossless WebP can be a valid 7000x7000 image; decoding it takes 750 MB."""
    lossless = io.BytesIO()
    Image.new("RGB", (16, 16), "orange").save(lossless, "WEBP", lossless=True)
    data = lossless.getvalue()
    assert data[12:16] == b"VP8L"
    bits = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1) | (7000 - 1) | (7000 - 1) << 14
    large = data[:21] + struct.pack("<I", bits) + data[25:]
    assert len(large) < 100 and Image.open(io.BytesIO(large)).size == (7000, 7000)
    assert _refused(large, r"WebP images of more than 26 MP are not accepted; this one is 7000x7000") < 0.05


@pytest.mark.parametrize(("attributes", "says"), [
    ('{"a": NaN}', "NaN is not a number JSON allows"),
    ('{"a": -Infinity}', "-Infinity is not a number JSON allows"),
    ('{"a": 1e999}', "attribute 'a' is not a finite number"),
    ('{"a": "\\ud800"}', "attribute 'a' is not valid text"),
    ('{"\\udfff": 1}', "an attribute's name is not valid text"),
])
def test_attributes_that_would_break_every_later_answer_are_refused(attributes: str, says: str) -> None:
    with pytest.raises(InvalidUpload, match=re.escape(says)):
        person_attributes(attributes)


def test_a_name_with_a_lone_surrogate_is_refused_not_a_500() -> None:
    with pytest.raises(InvalidUpload, match=r"name is not valid text \(it has a lone surrogate, \\ud800\)"):
        person_name("Ada \ud800")
