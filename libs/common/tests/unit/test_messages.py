import json

import pytest

from photolane_common.messages import InvalidMessage, PhotoProcessed, PhotoUploaded, decode, encode


def test_encode_wraps_the_data_in_the_envelope() -> None:
    body = json.loads(encode(PhotoUploaded(photo_id="p1", original_key="originals/p1.jpg")))
    assert body["type"] == "photo.uploaded"
    assert body["version"] == 1
    assert body["data"] == {"photo_id": "p1", "original_key": "originals/p1.jpg"}
    assert body["id"] and body["sent_at"]


def test_decode_gives_back_the_typed_payload() -> None:
    envelope = decode(encode(PhotoProcessed(photo_id="p1", status="failed")))
    assert envelope.payload() == PhotoProcessed(photo_id="p1", status="failed")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"data": {}}', "bad envelope"),
        ('{"type": "photo.teleported", "data": {}}', "unknown message type"),
        ('{"type": "photo.deleted", "data": {}}', "bad photo.deleted data"),
        ('{"type": "owner.photos_deleted", "data": {"owner": "a@example.com"}}', "bad owner.photos_deleted data"),
        ('{"type": "photo.uploaded", "data": {"photo_id": "p1"}}', "bad photo.uploaded data"),
        ('{"type": "photo.processed", "data": {"photo_id": "p1", "status": "odd"}}', "bad photo.processed"),
        ('{"type": "photo.uploaded", "version": 2, "data": {"photo_id": "p", "original_key": "k"}}', "version"),
    ],
)
def test_decode_refuses_what_can_never_be_handled(body: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        decode(body)


def test_the_erasure_jobs_round_trip() -> None:
    from datetime import UTC, datetime

    from photolane_common.messages import OwnerPhotosDeleted, PhotoDeleted

    assert decode(encode(PhotoDeleted(photo_id="p1"))).expect(PhotoDeleted).photo_id == "p1"
    before = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    envelope = decode(encode(OwnerPhotosDeleted(owner="a@example.com", before=before)))
    assert envelope.type == "owner.photos_deleted"
    assert envelope.expect(OwnerPhotosDeleted) == OwnerPhotosDeleted(owner="a@example.com", before=before)


def test_expect_refuses_a_message_of_another_type() -> None:
    envelope = decode(encode(PhotoProcessed(photo_id="p1", status="processed")))
    assert envelope.expect(PhotoProcessed).photo_id == "p1"
    with pytest.raises(InvalidMessage, match="photo.processed is not handled here"):
        envelope.expect(PhotoUploaded)


def test_s3_event_notifications_become_typed_messages_with_decoded_keys() -> None:
    from photolane_common.messages import S3ObjectsCreated

    event = {"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
         "s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/my+photo%2B1.jpg", "size": 5, "eTag": "e1"}}},
        {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete",
         "s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/gone.jpg"}}},
    ]}
    payload = decode(json.dumps(event)).expect(S3ObjectsCreated)
    assert [(o.bucket, o.key, o.size, o.etag) for o in payload.objects] == [("b", "incoming/my photo+1.jpg", 5, "e1")]
    assert decode('{"Service": "Amazon S3", "Event": "s3:TestEvent"}').type == "s3.test"
    with pytest.raises(InvalidMessage, match="not an S3 event record"):
        decode('{"Records": [{"eventSource": "aws:sns"}]}')
