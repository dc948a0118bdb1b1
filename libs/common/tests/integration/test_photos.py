"""The photo store against a real DynamoDB stand-in."""

import uuid
from datetime import UTC, datetime, timedelta

from photolane.testing import Stack
from photolane_common.domain import FAILED, PROCESSED, PROCESSING, QUEUED, Face, Photo, ProcessedImage
from photolane_common.photos import PhotoStore


def _new_photo(store: PhotoStore, **fields: object) -> Photo:
    now = datetime.now(UTC)
    photo = Photo(id=str(uuid.uuid4()), status=QUEUED, created_at=now, updated_at=now, content_type="image/jpeg",
                  original_key="originals/x.jpg", **fields)
    store.create(photo)
    return photo


def test_status_goes_queued_processing_processed_and_never_back(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store, email="a@example.com")
    assert store.get(photo.id).status == QUEUED
    assert store.mark_processing(photo.id)
    assert store.get(photo.id).status == PROCESSING
    result = ProcessedImage("flipped/x.jpg", "thumbs/x.jpg", "results/x.csv", 10, 20,
                            (Face((1, 2, 3, 0)), Face((4, 9, 8, 5))))
    store.mark_processed(photo.id, result)
    done = store.get(photo.id)
    assert (done.status, done.width, done.height, done.flipped_key) == (PROCESSED, 10, 20, "flipped/x.jpg")
    assert [f.box for f in done.faces] == [(1, 2, 3, 0), (4, 9, 8, 5)]
    assert not store.mark_processing(photo.id)
    assert not store.mark_failed(photo.id, "late failure")
    assert store.get(photo.id).status == PROCESSED


def test_failed_keeps_the_error(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store)
    assert store.mark_failed(photo.id, "the image cannot be decoded")
    failed = store.get(photo.id)
    assert (failed.status, failed.error) == (FAILED, "the image cannot be decoded")


def test_unknown_photo_is_none_and_updates_do_not_create_it(stack: Stack) -> None:
    store = PhotoStore()
    assert store.get("nope") is None
    assert not store.mark_processing("nope")
    assert store.get("nope") is None


def test_a_delivery_is_claimed_once_until_its_lease_runs_out(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store, phone="+14155550123")
    lease = timedelta(minutes=2)
    assert store.claim_delivery(photo.id, "sms", "+14155550123", lease)
    assert not store.claim_delivery(photo.id, "sms", "+14155550123", lease)
    assert store.claim_delivery(photo.id, "email", "a@example.com", lease)  # channels are apart
    # A holder that died: its claim is older than a (short) lease and can be taken again.
    assert store.claim_delivery(photo.id, "sms", "+14155550123", timedelta(seconds=-1))
    store.finish_delivery(photo.id, "sms", "+14155550123", None)
    assert not store.claim_delivery(photo.id, "sms", "+14155550123", timedelta(seconds=-1))  # sent is final
    sms = store.get(photo.id).delivery("sms")
    assert (sms.status, sms.to, sms.error) == ("sent", "+14155550123", None)
    assert sms.sent_at is not None
