"""Face detection with the real model on real photos."""

import pytest
from PIL import Image

from photolane.testing import exif_rotated
from photolane_processor.faces import FaceDetector
from photolane_processor.imaging import open_oriented
from photolane_processor.pipeline import RESULT_COLUMNS, render, results_csv


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(max_px=1024, upsample=1)


@pytest.mark.parametrize(
    ("photo", "faces"),
    [("group_obama_biden_and_one_more.jpg", 3), ("group_kit_and_rose.jpg", 2), ("biden_2.jpg", 1),
     ("kit_harington_2.jpg", 1)],
)
def test_face_count(detector: FaceDetector, faces_dir, photo: str, faces: int) -> None:
    image, _ = open_oriented((faces_dir / photo).read_bytes())
    boxes = detector.detect(image)
    assert len(boxes) == faces
    for top, right, bottom, left in boxes:
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height


@pytest.mark.parametrize("orientation", [6, 8])
def test_face_found_in_a_portrait_stored_sideways(detector: FaceDetector, faces_dir, orientation: int) -> None:
    data = exif_rotated(faces_dir / "obama_2.jpg", orientation)
    with Image.open(faces_dir / "obama_2.jpg") as upright:
        expected = detector.detect(upright.convert("RGB"))
    image, _ = open_oriented(data)
    found = detector.detect(image)
    assert len(found) == 1
    assert all(abs(a - b) <= 12 for a, b in zip(found[0], expected[0], strict=True))


def test_boxes_in_full_size_pixels_whatever_the_detection_size(faces_dir) -> None:
    image, _ = open_oriented((faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    small = FaceDetector(max_px=1024).detect(image)
    full = FaceDetector(max_px=4000, upsample=0).detect(image)
    assert len(small) == len(full) == 3
    for a, b in zip(small, full, strict=True):
        centre_a = ((a[1] + a[3]) / 2, (a[0] + a[2]) / 2)
        centre_b = ((b[1] + b[3]) / 2, (b[0] + b[2]) / 2)
        assert abs(centre_a[0] - centre_b[0]) < 25 and abs(centre_a[1] - centre_b[1]) < 25


def test_render_makes_every_output_and_times_each_stage(detector: FaceDetector, faces_dir) -> None:
    out = render((faces_dir / "group_kit_and_rose.jpg").read_bytes(), detector, thumbnail_px=128)
    assert (out.width, out.height) == (501, 700)
    assert len(out.faces) == 2
    assert max(Image.open(__import__("io").BytesIO(out.thumbnail.data)).size) == 128
    assert set(out.timings_ms) == {"decode", "flip", "thumbnail", "detect"}
    rows = results_csv(out.faces).decode().splitlines()
    assert rows[0].split(",") == list(RESULT_COLUMNS)
    assert len(rows) == 3 and rows[1].startswith("0,")
