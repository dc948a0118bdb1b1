"""The processor's handlers against a real moto server, with the real face model."""

import io
from typing import Any

from PIL import Image, ImageOps

from photolane.testing import Stack, exif_rotated, pixel_difference
from photolane_common import aws
from photolane_common.domain import Sideways
from photolane_common.messages import PhotoUploaded, decode, encode
from photolane_processor.handlers import ProcessorDeps, give_up, handle
from photolane_processor.settings import ProcessorSettings

from ..conftest import stored_photo


def _notifications(stack: Stack) -> list[dict[str, Any]]:
    sqs = aws.client("sqs", ProcessorSettings())
    out = sqs.receive_message(QueueUrl=stack.resources.notifications_queue_url, MaxNumberOfMessages=10,
                              WaitTimeSeconds=1)
    return [decode(m["Body"]).data for m in out.get("Messages", [])]


def test_photo_is_processed_into_flipped_thumbnail_faces_and_csv(deps: ProcessorDeps, stack: Stack,
                                                                  faces_dir) -> None:
    original = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    job = stored_photo(deps, original, email="a@example.com")
    handle(decode(encode(job)), deps)

    photo = deps.photos.get(job.photo_id)
    assert photo.status == "processed" and photo.error is None
    assert (photo.width, photo.height) == (2000, 1428)
    assert len(photo.faces) == 3 and photo.sideways is None
    flipped = Image.open(io.BytesIO(deps.blobs.get(photo.flipped_key)))
    assert pixel_difference(flipped, ImageOps.mirror(Image.open(io.BytesIO(original)))) < 3
    thumb = Image.open(io.BytesIO(deps.blobs.get(photo.thumbnail_key)))
    assert (thumb.format, max(thumb.size)) == ("JPEG", 200)
    csv_rows = deps.blobs.get(photo.results_key).decode().splitlines()
    assert len(csv_rows) == 4
    assert _notifications(stack) == [{"photo_id": job.photo_id, "status": "processed"}]


def test_the_same_job_twice_gives_the_same_record_and_objects(deps: ProcessorDeps, stack: Stack,
                                                               faces_dir) -> None:
    job = stored_photo(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    handle(decode(encode(job)), deps)
    first = deps.photos.get(job.photo_id)
    objects = {key: deps.blobs.get(key) for key in (first.flipped_key, first.thumbnail_key, first.results_key)}
    handle(decode(encode(job)), deps)
    second = deps.photos.get(job.photo_id)
    assert (second.status, second.faces, second.updated_at) == (first.status, first.faces, first.updated_at)
    assert {key: deps.blobs.get(key) for key in objects} == objects
    # Announced again (the notifier sends at most once per channel): nothing is lost if the first was.
    assert [n["status"] for n in _notifications(stack)] == ["processed", "processed"]


def test_portrait_stored_sideways_is_turned_upright_first(deps: ProcessorDeps, faces_dir) -> None:
    job = stored_photo(deps, exif_rotated(faces_dir / "obama_2.jpg", 6))
    handle(decode(encode(job)), deps)
    photo = deps.photos.get(job.photo_id)
    assert (photo.width, photo.height, len(photo.faces)) == (626, 1200, 1)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)  # no EXIF: no orientation flag
    return out.getvalue()


def test_a_photo_saved_sideways_gets_a_hint_and_one_without_a_face_none(deps: ProcessorDeps, faces_dir) -> None:
    with Image.open(faces_dir / "group_kit_and_rose.jpg") as upright:
        turned = _jpeg(upright.transpose(Image.Transpose.ROTATE_270))  # a quarter clockwise: faces on their side
        no_face = _jpeg(upright.crop((0, 224, upright.width, upright.height)))  # below the faces: no face
    job = stored_photo(deps, turned)
    handle(decode(encode(job)), deps)
    photo = deps.photos.get(job.photo_id)
    assert photo.status == "processed" and photo.faces == ()  # the faces stay unfound: the photo is as sent
    assert photo.sideways == Sideways(turn=270, faces=2)  # a quarter anticlockwise sets it upright
    assert photo.sideways.hint == ("This photo looks sideways: turned a quarter anticlockwise (90° left) it has "
                                   "2 faces. Rotate it and upload it again.")
    handle(decode(encode(job)), deps)  # the job again (redelivered): the same record
    assert deps.photos.get(job.photo_id).sideways == photo.sideways

    empty = stored_photo(deps, no_face)
    handle(decode(encode(empty)), deps)
    photo = deps.photos.get(empty.photo_id)
    assert photo.status == "processed" and photo.faces == () and photo.sideways is None


def test_undecodable_image_fails_with_an_error_and_is_not_retried(deps: ProcessorDeps, stack: Stack,
                                                                  faces_dir) -> None:
    data = (faces_dir / "kit_harington_2.jpg").read_bytes()
    job = stored_photo(deps, data[: len(data) // 2])
    handle(decode(encode(job)), deps)  # returns: the message is deleted, not retried
    photo = deps.photos.get(job.photo_id)
    assert photo.status == "failed"
    assert "cannot be decoded" in photo.error and "truncated" in photo.error
    assert _notifications(stack) == [{"photo_id": job.photo_id, "status": "failed"}]


def test_missing_original_fails(deps: ProcessorDeps) -> None:
    job = stored_photo(deps, b"x")
    handle(decode(encode(PhotoUploaded(photo_id=job.photo_id, original_key="originals/gone.jpg"))), deps)
    assert deps.photos.get(job.photo_id).error == "the original is missing from the bucket"


def test_giving_up_records_the_failure_and_tells_the_uploader(deps: ProcessorDeps, stack: Stack,
                                                              faces_dir) -> None:
    job = stored_photo(deps, (faces_dir / "biden_2.jpg").read_bytes())
    give_up(decode(encode(job)), TimeoutError("S3 timed out"), deps)
    photo = deps.photos.get(job.photo_id)
    assert photo.status == "failed"
    assert photo.error == "processing failed after 3 tries: S3 timed out"
    assert _notifications(stack) == [{"photo_id": job.photo_id, "status": "failed"}]


def test_a_job_for_an_unknown_photo_is_dropped(deps: ProcessorDeps, stack: Stack) -> None:
    handle(decode(encode(PhotoUploaded(photo_id="nope", original_key="originals/nope.jpg"))), deps)
    assert _notifications(stack) == []
