"""The lossless mirror against Pillow's decode-mirror, for every EXIF orientation."""

import io

import pytest
from PIL import Image, ImageCms, ImageOps

from photolane.testing import pixel_difference
from photolane_processor import jpeg
from photolane_processor.imaging import decode_for_work


def test_the_library_is_there() -> None:
    assert jpeg.available(), "libturbojpeg0 is missing: scripts/bootstrap-venv.sh installs it"

# The stored pixels for an orientation: what exif_transpose undoes.
STORED = {
    1: [], 2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_270],
}


def _stored(upright: Image.Image, orientation: int, **save: object) -> bytes:
    image = upright
    for turn in STORED[orientation]:
        image = image.transpose(turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # GPS: must not reach the outputs
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes(), **save)
    return out.getvalue()


@pytest.fixture(scope="module")
def upright(faces_dir) -> Image.Image:
    return Image.open(faces_dir / "biden_2.jpg").convert("RGB").resize((640, 480))  # block-aligned both ways


@pytest.mark.parametrize("orientation", range(1, 9))
def test_mirror_of_the_upright_photo_for_every_orientation(upright: Image.Image, orientation: int) -> None:
    data = _stored(upright, orientation)
    out = jpeg.mirror(data, orientation)
    assert out is not None
    result = Image.open(io.BytesIO(out))
    expected = ImageOps.mirror(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert result.size == expected.size
    assert pixel_difference(result, expected) < 1.5  # the same coefficients: only decoder rounding
    assert not result.getexif()  # no orientation left to apply twice, no GPS


def test_a_width_off_the_block_grid_is_left_to_the_re_encode(upright: Image.Image) -> None:
    assert jpeg.mirror(_stored(upright.resize((650, 480)), 1), 1) is None


def test_the_colour_profile_is_kept(upright: Image.Image) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = jpeg.mirror(_stored(upright, 1, icc_profile=icc), 1, icc_profile=icc)
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == icc


def test_one_scaled_decode_for_the_work(faces_dir) -> None:
    big = io.BytesIO()
    Image.open(faces_dir / "group_obama_biden_and_one_more.jpg").resize((4000, 2856)).save(big, "JPEG")
    decoded = decode_for_work(big.getvalue(), 2000)
    assert decoded.image.size == (2000, 1428) and decoded.scale == 0.5  # DCT-scaled by 1/2
    assert decoded.size == (4000, 2856)
    small = decode_for_work((faces_dir / "kit_harington_2.jpg").read_bytes(), 2000)
    assert small.scale == 1.0
