"""Images put straight into the bucket under incoming/: S3 event → jobs queue → processed."""

import json
import uuid
from pathlib import Path
from typing import Any

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.messages import decode
from photolane_processor.bootstrap import build_worker
from photolane_processor.handlers import ProcessorDeps, handle

KEY = "incoming/holiday photo+1 (copy).jpg"  # spaces and '+' arrive URL-encoded in the event


def _drop(deps: ProcessorDeps, stack: Stack, data: bytes, key: str = KEY) -> str:
    s3 = aws.client("s3", deps.settings)
    s3.put_object(Bucket=stack.resources.bucket, Key=key, Body=data)
    etag = s3.head_object(Bucket=stack.resources.bucket, Key=key)["ETag"].strip('"')
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{stack.resources.bucket}/{key}#{etag}"))


def _event(deps: ProcessorDeps, stack: Stack) -> dict[str, Any]:
    """The object's event (after the test event S3 sends when the notification is set up)."""
    sqs = aws.client("sqs", deps.settings)
    while True:
        got = sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, WaitTimeSeconds=2)["Messages"][0]
        sqs.delete_message(QueueUrl=stack.resources.jobs_queue_url, ReceiptHandle=got["ReceiptHandle"])
        if "Records" in got["Body"]:
            return got


def test_an_image_put_under_incoming_is_processed_like_an_upload(deps: ProcessorDeps, stack: Stack,
                                                                 faces_dir: Path) -> None:
    photo_id = _drop(deps, stack, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    worker = build_worker(deps.settings, deps)
    while worker.poll_once():  # the S3 event the stand-in sent to the jobs queue
        pass
    photo = deps.photos.get(photo_id)
    assert photo is not None, "no record for the dropped-in image"
    assert (photo.status, photo.original_key, photo.filename) == ("processed", KEY, "holiday photo+1 (copy).jpg")
    assert len(photo.faces) == 2 and photo.flipped_key == f"flipped/{photo_id}.jpg"


def test_the_same_object_notified_twice_is_processed_once(deps: ProcessorDeps, stack: Stack,
                                                          faces_dir: Path) -> None:
    photo_id = _drop(deps, stack, (faces_dir / "biden_2.jpg").read_bytes())
    body = _event(deps, stack)["Body"]
    assert "holiday+photo%2B1" in body  # URL-encoded, as S3 sends it
    handle(decode(body), deps)
    first = deps.photos.get(photo_id)
    handle(decode(body), deps)
    second = deps.photos.get(photo_id)
    assert first.status == "processed" and second.updated_at == first.updated_at and second.faces == first.faces


def test_test_events_and_other_prefixes_are_ignored(deps: ProcessorDeps, stack: Stack) -> None:
    handle(decode(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})), deps)
    elsewhere = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                              "s3": {"bucket": {"name": stack.resources.bucket},
                                     "object": {"key": "originals/x.jpg", "size": 1, "eTag": "e"}}}]}
    handle(decode(json.dumps(elsewhere)), deps)
    assert deps.photos.get(str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{stack.resources.bucket}/originals/x.jpg#e"))) \
        is None
