import io

import pillow_heif
import pytest
from PIL import Image, ImageOps

from photolane.testing import exif_rotated, pixel_difference
from photolane_processor.faces import scale_box
from photolane_processor.imaging import (
    UnreadableImage,
    downscaled,
    encode,
    encode_jpeg,
    mirrored,
    open_oriented,
    thumbnail,
)


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied(faces_dir, orientation: int) -> None:
    upright = Image.open(faces_dir / "obama_2.jpg")
    image, fmt = open_oriented(exif_rotated(faces_dir / "obama_2.jpg", orientation))
    assert fmt == "JPEG"
    assert image.size == upright.size  # 626 x 1200, not 1200 x 626
    assert pixel_difference(image, upright) < 3


def test_mirror_swaps_left_and_right() -> None:
    image = Image.new("RGB", (4, 2), "white")
    image.putpixel((0, 0), (255, 0, 0))
    flipped = mirrored(image)
    assert flipped.getpixel((3, 0)) == (255, 0, 0)
    assert flipped.getpixel((0, 0)) == (255, 255, 255)
    assert mirrored(flipped).tobytes() == image.tobytes()


def test_thumbnail_long_side_and_aspect(faces_dir) -> None:
    image, _ = open_oriented((faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    thumb = thumbnail(image, 256)
    assert thumb.size == (256, 183)
    small = Image.new("RGB", (100, 50))
    assert thumbnail(small, 256).size == (100, 50)  # never enlarged


def test_downscaled_copy_and_boxes_mapped_back() -> None:
    image = Image.new("RGB", (4000, 3000))
    small, scale = downscaled(image, 1000)
    assert small.size == (1000, 750) and scale == 0.25
    assert scale_box((10, 200, 110, 100), scale, image.size) == (40, 800, 440, 400)
    assert scale_box((-2, 1001, 760, 0), scale, image.size) == (0, 4000, 3000, 0)  # clamped inside


def test_outputs_keep_the_format_and_heic_becomes_jpeg() -> None:
    rgba = Image.new("RGBA", (20, 10), (255, 0, 0, 128))
    png = encode(rgba, "PNG")
    assert (png.content_type, png.extension, Image.open(io.BytesIO(png.data)).mode) == ("image/png", "png", "RGBA")
    heif = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (40, 30), "blue")).save(heif)
    image, fmt = open_oriented(heif.getvalue())
    out = encode(image, fmt)
    assert fmt == "HEIF" and (out.content_type, out.extension) == ("image/jpeg", "jpg")
    assert Image.open(io.BytesIO(out.data)).format == "JPEG"
    thumb = encode_jpeg(rgba)
    assert Image.open(io.BytesIO(thumb.data)).getpixel((0, 0))[1] > 100  # alpha laid on white


def test_mirror_of_a_real_photo_round_trips_through_jpeg(faces_dir) -> None:
    image, fmt = open_oriented((faces_dir / "biden_2.jpg").read_bytes())
    flipped = Image.open(io.BytesIO(encode(mirrored(image), fmt).data))
    assert pixel_difference(flipped, ImageOps.mirror(image)) < 3
    assert pixel_difference(flipped, image) > 10  # really mirrored, not a copy


@pytest.mark.parametrize("data", [b"garbage", b"\xff\xd8\xff\xe0" + b"\x00" * 50])
def test_unreadable_bytes(data: bytes) -> None:
    with pytest.raises(UnreadableImage, match="cannot be decoded"):
        open_oriented(data)


def test_truncated_jpeg_is_unreadable(faces_dir) -> None:
    data = (faces_dir / "kit_harington_2.jpg").read_bytes()
    with pytest.raises(UnreadableImage):
        open_oriented(data[: len(data) // 2])
