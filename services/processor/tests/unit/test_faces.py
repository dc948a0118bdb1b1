"""Face detection with the real model on real photos."""

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from photolane.testing import exif_rotated
from photolane_common.domain import Face, Person, Sideways
from photolane_processor.faces import FaceDetector, FaceEncoder
from photolane_processor.imaging import open_oriented
from photolane_processor.matching import FaceIndex
from photolane_processor.pipeline import RESULT_COLUMNS, Recognition, render, results_csv, sideways
from photolane_processor.policy import NamingPolicy


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


@pytest.mark.parametrize(("photo", "faces"), [("kit_harington_1.jpg", 1), ("group_obama_biden_and_one_more.jpg", 3)])
def test_a_photo_saved_sideways_is_found_turned_the_right_way(detector: FaceDetector, faces_dir, photo: str,
                                                               faces: int) -> None:
    """kit_harington_1 turned a quarter shows a false face at the wrong turn too (HOG score ~0.1): the
    hint goes by the faces' scores, so it names the right turn."""
    with Image.open(faces_dir / photo) as upright:
        for saved, turn in ((Image.Transpose.ROTATE_270, 270), (Image.Transpose.ROTATE_90, 90)):
            image = upright.convert("RGB").transpose(saved)  # a quarter clockwise, then anticlockwise
            assert detector.detect(image) == []
            assert sideways(image, detector) == Sideways(turn, faces)
        assert sideways(upright.convert("RGB").crop((0, 0, upright.width, 60)), detector) is None  # no face


def test_boxes_in_full_size_pixels_whatever_the_detection_size(faces_dir) -> None:
    image, _ = open_oriented((faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    small = FaceDetector(max_px=1024).detect(image)
    full = FaceDetector(max_px=4000, upsample=0).detect(image)
    assert len(small) == len(full) == 3
    for a, b in zip(small, full, strict=True):
        centre_a = ((a[1] + a[3]) / 2, (a[0] + a[2]) / 2)
        centre_b = ((b[1] + b[3]) / 2, (b[0] + b[2]) / 2)
        assert abs(centre_a[0] - centre_b[0]) < 25 and abs(centre_a[1] - centre_b[1]) < 25


@pytest.fixture(scope="module")
def encoder() -> FaceEncoder:
    return FaceEncoder()


def _encoding(detector: FaceDetector, encoder: FaceEncoder, path) -> np.ndarray:
    image, _ = open_oriented(path.read_bytes())
    boxes = detector.detect(image)
    assert len(boxes) == 1
    return encoder.encode(image, boxes)[0]


def test_render_names_the_enrolled_and_times_each_stage(detector: FaceDetector, encoder: FaceEncoder,
                                                         faces_dir) -> None:
    index = FaceIndex([("kit", _encoding(detector, encoder, faces_dir / "kit_harington_1.jpg")),
                       ("rose", _encoding(detector, encoder, faces_dir / "rose_leslie_1.jpg"))])
    out = render((faces_dir / "group_kit_and_rose.jpg").read_bytes(),
                 Recognition(detector, encoder, index, NamingPolicy()), thumbnail_px=128)
    assert (out.width, out.height) == (501, 700)
    assert sorted(face.person_id for face in out.faces) == ["kit", "rose"]
    assert all(face.distance < 0.6 and len(face.encoding) == 512 for face in out.faces)
    assert max(Image.open(io.BytesIO(out.thumbnail.data)).size) == 128
    assert set(out.timings_ms) == {"decode", "flip", "thumbnail", "detect", "encode", "match", "pictures"}
    assert len(out.pictures) == 2 and all(p[:2] == b"\xff\xd8" for p in out.pictures)


def test_strangers_stay_unknown(detector: FaceDetector, encoder: FaceEncoder, faces_dir) -> None:
    index = FaceIndex([("obama", _encoding(detector, encoder, faces_dir / "obama_1.jpg")),
                       ("biden", _encoding(detector, encoder, faces_dir / "biden_1.jpg"))])
    image, _ = open_oriented((faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    boxes = detector.detect(image)
    matches = index.match(np.array(encoder.encode(image, boxes)), 0.6)
    assert sorted(str(m.person_id) for m in matches) == ["None", "biden", "obama"]


def test_results_csv_names_the_people() -> None:
    now = datetime.now(UTC)
    people = {"p1": Person("p1", "Barack Obama", "enrolled", now, {"role": "president"})}
    faces = (Face((10, 60, 70, 5), "p1", 0.41234), Face((1, 2, 3, 0)))
    rows = results_csv(faces, people, "7b").decode().splitlines()
    assert rows[0].split(",") == list(RESULT_COLUMNS)
    assert rows[1] == '0,10,60,70,5,p1,Barack Obama,0.4123,"{""role"": ""president""}",7b'
    assert rows[2] == "1,1,2,3,0,,,,,7b"


def test_small_faces_in_a_scaled_decode_are_encoded_from_the_full_image(detector: FaceDetector,
                                                                       encoder: FaceEncoder, faces_dir) -> None:
    """A 12 MP-like photo: decoded at half size, its small face keeps the full-size encoding."""
    source, _ = open_oriented((faces_dir / "obama_2.jpg").read_bytes())
    canvas = Image.new("RGB", (4000, 3000), "grey")
    canvas.paste(source.resize((313, 600)), (200, 200))  # a face ~130 px wide: ~65 px at half size
    data = io.BytesIO()
    canvas.save(data, "JPEG", quality=92)
    out = render(data.getvalue(), Recognition(detector, encoder, FaceIndex(), NamingPolicy()), 256, work_px=2000)
    assert len(out.faces) == 1
    full, _ = open_oriented(data.getvalue())
    reference = encoder.encode(full, [out.faces[0].box])[0]
    assert np.linalg.norm(np.frombuffer(out.faces[0].encoding, dtype=np.float32) - reference) < 0.02
