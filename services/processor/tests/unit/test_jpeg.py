"""The lossless mirror against Pillow's decode-mirror, for every EXIF orientation."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from photolane.testing import pixel_difference
from photolane_processor import jpeg
from photolane_processor.faces import FaceDetector, FaceEncoder, scale_box
from photolane_processor.imaging import (
    UPRIGHT,
    decode_for_work,
    full_size_regions,
    open_oriented,
    to_stored,
    to_upright,
)


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


@pytest.mark.parametrize("orientation", range(1, 9))
def test_rectangles_map_between_stored_and_upright_pixels(upright: Image.Image, orientation: int) -> None:
    data = _stored(upright, orientation)
    stored = Image.open(io.BytesIO(data))
    shown = ImageOps.exif_transpose(stored)
    rect = (100, 60, 180, 200)  # upright
    back = to_stored(rect, orientation, stored.size)
    assert to_upright(back, orientation, stored.size) == rect
    piece = stored.crop(back).transpose(UPRIGHT[orientation]) if orientation > 1 else stored.crop(back)
    assert pixel_difference(piece, shown.crop(rect)) < 1


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_small_faces_are_encoded_from_lossless_crops_as_from_the_full_image(faces_dir, orientation: int) -> None:
    face, _ = open_oriented((faces_dir / "obama_2.jpg").read_bytes())
    canvas = Image.new("RGB", (4000, 3000), "grey")
    canvas.paste(face.resize((313, 600)), (1203, 917))  # off the block grid on purpose
    data = _stored(canvas, orientation)
    decoded = decode_for_work(data, 2000)
    detector, encoder = FaceDetector(1000, 1), FaceEncoder()
    boxes = [scale_box(b, decoded.scale, decoded.size) for b in detector.detect(decoded.image)]
    assert len(boxes) == 1
    pieces = full_size_regions(data, decoded, [(b[3] - 130, b[0] - 130, b[1] + 130, b[2] + 130) for b in boxes])
    assert pieces is not None
    (piece, (x0, y0, _, _)), (top, right, bottom, left) = pieces[0], boxes[0]
    from_crop = encoder.encode(piece, [(top - y0, right - x0, bottom - y0, left - x0)])[0]
    full, _ = open_oriented(data)
    assert np.linalg.norm(from_crop - encoder.encode(full, boxes)[0]) < 0.02
