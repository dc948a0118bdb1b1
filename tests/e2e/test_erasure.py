"""Erasure end to end (real model, real stack, as `make run` runs it): a deleted photo leaves nothing of
itself anywhere — not its id, not one of its face encodings (raw or base64), in no S3 object (the bucket
listed, every object read: the index snapshots too, their rows compared one by one), no item of any
table (every table scanned), nor the run folder (the keeper's copy of the tables and bucket); a kill -9
half-way through an erasure is finished by its redelivery; a job delivered twice does nothing more;
"Delete all my photos" and a drop-in's deletion erase theirs.

What the run folder keeps of a photo by design is left out of the id's search, never of the encodings':
the logs (services', launcher's, the stand-in's: one line per event, carrying the photo id) and the
outbox (events already published to subscribers).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from photolane.standin import STANDIN_ENV
from photolane.testing import wait_for
from photolane_common.packed_faces import unpack
from photolane_processor.vectors import VectorSet

from .conftest import Running, finished, launcher_children, started, upload

pytestmark = pytest.mark.e2e

PAUSE = 4  # seconds an erasure waits half-way (PHOTOLANE_FAULT_PAUSE_IN_ERASURE_SECONDS): the kill's window
VISIBILITY = 6
# The logs carry photo ids by design (one line per event); the outbox holds the events already published.
ID_KEPT_IN = ("logs", "outbox", "services.log", "standin.log")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    env = {
        "PHOTOLANE_PROCESSORS": "2",
        "PHOTOLANE_INDEX_SNAPSHOT_EVERY": "1",  # every change snapshotted: a snapshot holds the photo, and
        # processors behind the erasure keep writing them (none may bring its rows back)
        "PHOTOLANE_FAULT_PAUSE_IN_ERASURE_SECONDS": str(PAUSE),
        "PHOTOLANE_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY),
        "PHOTOLANE_POLL_WAIT_SECONDS": "2",
        "PHOTOLANE_SNAPSHOT_SECONDS": "1",  # the keeper's copy of the stand-in, in the run folder
    }
    with started(tmp_path_factory, expected_errors=("message.failed", "worker.tick_failed"), **env) as running:
        yield running


def _aws(running: Running, service: str) -> Any:
    return boto3.client(service, endpoint_url=running.aws_url, region_name=STANDIN_ENV["AWS_REGION"],
                        aws_access_key_id=STANDIN_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=STANDIN_ENV["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=STANDIN_ENV["AWS_SESSION_TOKEN"])


def _admin(running: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {running.admin_token}"}


def _record(running: Running, photo_id: str) -> dict[str, Any] | None:
    """The photo's item, read straight from its table (the API never shows encodings)."""
    dynamodb = _aws(running, "dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("photos"))
    return dynamodb.get_item(TableName=table, Key={"id": {"S": photo_id}}, ConsistentRead=True).get("Item")


def _encodings(running: Running, photo_id: str) -> list[bytes]:
    item = _record(running, photo_id)
    assert item is not None
    found = [face.encoding for face in unpack(item["packed_faces"]["B"]) if face.encoding is not None]
    assert found and all(len(e) == 512 for e in found), item
    return found


def _snapshot_rows(blob: bytes) -> list[bytes]:
    vectors, _ = VectorSet.load(io.BytesIO(blob))
    rows = []
    for number, block in enumerate(vectors.blocks):
        used = min(vectors.block_rows, vectors.used - number * vectors.block_rows)
        rows += [block.values(int(i)).astype("<f4").tobytes() for i in block.live(used)]
    return rows


def _binaries(value: object) -> list[bytes]:
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _binaries(v)]
    if isinstance(value, list):
        return [b for v in value for b in _binaries(v)]
    return []


def _traces(running: Running, photo_id: str, encodings: list[bytes]) -> list[str]:
    """Everywhere the photo's id or one of its encodings still is."""
    needles = [*encodings, *(base64.b64encode(e) for e in encodings)]
    found: list[str] = []
    s3 = _aws(running, "s3")
    for bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                if photo_id in key or photo_id.encode() in data or any(n in data for n in needles):
                    found.append(f"s3://{bucket}/{key}")
                if key.startswith("index/") and set(_snapshot_rows(data)) & set(encodings):
                    found.append(f"s3://{bucket}/{key}: a row of the photo's")
    dynamodb = _aws(running, "dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for item in page["Items"]:
                text = json.dumps(item, default=lambda b: base64.b64encode(b).decode())
                raw = _binaries(item)
                if photo_id in text or any(n in text.encode() or n in r for n in needles for r in raw):
                    found.append(f"{table}: {text[:160]}")
    for path in sorted(p for p in running.run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        relative = path.relative_to(running.run_dir)
        if any(n in data for n in needles) or (relative.parts[0] not in ID_KEPT_IN and photo_id.encode() in data):
            found.append(f"run folder: {relative}")
    return found


def _erased(running: Running, photo_id: str, encodings: list[bytes]) -> None:
    """The record gone, then nothing left anywhere (the keeper's copy catches up within seconds)."""
    wait_for(lambda: _record(running, photo_id) is None, 90, f"photo {photo_id} erased")
    left: list[str] = []

    def clean() -> bool:
        left[:] = _traces(running, photo_id, encodings)
        return not left

    try:
        wait_for(clean, 60, f"no trace of photo {photo_id}")
    except AssertionError:
        pytest.fail(f"traces of the erased photo {photo_id}: {left}")


def _snapshot_holds(running: Running, encodings: list[bytes]) -> bool:
    s3 = _aws(running, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="photolane", Prefix="index/").get("Contents", [])]
    return any(set(_snapshot_rows(s3.get_object(Bucket="photolane", Key=k)["Body"].read())) & set(encodings)
               for k in keys)


def _log_lines(running: Running, event: str, photo_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in running.service_logs().splitlines() if f'"{event}"' in line]
    return [line for line in lines if line.get("event") == event and line.get("photo_id") == photo_id]


def _owner_session(running: Running, data: bytes, email: str) -> tuple[requests.Session, str]:
    """A browser that uploads through the form (its session owns the photo): the session and the id."""
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(running.url, timeout=10).text).group(1)
    answer = browser.post(f"{running.url}/photos", data={"csrf_token": token, "email": email},
                          files={"file": ("face.jpg", data)}, allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text
    return browser, answer.headers["Location"].rsplit("/", 1)[1]


def test_an_erased_photo_leaves_nothing_anywhere(stack: Running, faces_dir: Path) -> None:
    kept = finished(stack, upload(stack, (faces_dir / "kit_harington_1.jpg").read_bytes()).json()["id"])
    browser, photo_id = _owner_session(stack, (faces_dir / "group_kit_and_rose.jpg").read_bytes(),
                                       "erin@example.com")
    photo = finished(stack, photo_id)
    assert photo["status"] == "processed" and len(photo["faces"]) == 2
    encodings = _encodings(stack, photo_id)
    wait_for(lambda: _snapshot_holds(stack, encodings), 60, "a snapshot of the unknown index holding the photo")
    assert _traces(stack, photo_id, encodings)  # the search finds it while it is there

    refused = requests.delete(f"{stack.url}/api/photos/{photo_id}", timeout=10)
    assert refused.status_code == 403  # whoever holds only the id
    answer = browser.delete(f"{stack.url}/api/photos/{photo_id}", timeout=10)
    assert answer.status_code == 202 and answer.json() == {"id": photo_id, "status": "erasing"}
    assert requests.get(f"{stack.url}/api/photos/{photo_id}", timeout=10).status_code == 404  # at once

    _erased(stack, photo_id, encodings)
    assert _log_lines(stack, "photo.erased", photo_id)
    # The photo that shared a cluster with it is untouched, its cluster counted again.
    faces = lambda photo: [(f["box"], f["cluster"]) for f in photo["faces"]]  # noqa: E731 - (URLs are presigned anew)
    assert faces(finished(stack, kept["id"])) == faces(kept)
    clusters = requests.get(f"{stack.url}/api/faces/unknown", headers=_admin(stack), timeout=10).json()["clusters"]
    mine = next(c for c in clusters if c["id"] == kept["faces"][0]["cluster"])
    assert mine["faces"] == 1 and mine["photo_ids"] == [kept["id"]]

    # Idempotent: deleted again (404, nothing queued), and its job delivered again by hand: nothing more.
    assert browser.delete(f"{stack.url}/api/photos/{photo_id}", timeout=10).status_code == 404
    sqs = _aws(stack, "sqs")
    jobs = sqs.get_queue_url(QueueName="photolane-jobs")["QueueUrl"]
    body = {"type": "photo.deleted", "version": 1, "id": str(uuid.uuid4()), "sent_at": "2026-01-01T00:00:00Z",
            "data": {"photo_id": photo_id}}
    sqs.send_message(QueueUrl=jobs, MessageBody=json.dumps(body))
    wait_for(lambda: [line for line in _log_lines(stack, "photo.not_erased", photo_id) if line["reason"] == "gone"],
             60, "the second delivery")
    assert _traces(stack, photo_id, encodings) == []


def test_an_erasure_killed_half_way_is_finished_by_its_redelivery(stack: Running, faces_dir: Path) -> None:
    photo = finished(stack, upload(stack, (faces_dir / "obama_1.jpg").read_bytes()).json()["id"])
    photo_id, encodings = photo["id"], _encodings(stack, photo["id"])
    assert requests.delete(f"{stack.url}/api/photos/{photo_id}", headers=_admin(stack), timeout=10).status_code == 202

    wait_for(lambda: _log_lines(stack, "fault.pause_in_erasure", photo_id), 60, "the erasure half-way")
    assert stack.launcher is not None
    for pid in launcher_children(stack.launcher.pid, "photolane_processor"):
        os.kill(pid, signal.SIGKILL)  # whichever holds it dies mid-erasure
    # Killed half-way: its objects are gone, its record (erased last) is still there.
    assert _record(stack, photo_id)["status"]["S"] == "erasing"
    s3 = _aws(stack, "s3")
    assert not s3.list_objects_v2(Bucket="photolane", Prefix=f"originals/{photo_id}").get("Contents")

    _erased(stack, photo_id, encodings)  # the supervisor restarts the processors; SQS delivers it again
    assert len(_log_lines(stack, "fault.pause_in_erasure", photo_id)) >= 2
    assert len(_log_lines(stack, "photo.erased", photo_id)) == 1


def test_delete_all_my_photos_and_a_drop_ins_deletion(stack: Running, faces_dir: Path) -> None:
    email = f"dana-{uuid.uuid4().hex[:6]}@example.com"
    browser, first = _owner_session(stack, (faces_dir / "biden_1.jpg").read_bytes(), email)
    _, second = _owner_session(stack, (faces_dir / "rose_leslie_1.jpg").read_bytes(), email)
    owned = {pid: _encodings(stack, finished(stack, pid)["id"]) for pid in (first, second)}

    # Signed in by the link emailed: the gallery's "Delete all my photos".
    def form_token(path: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{stack.url}{path}", timeout=10).text
                         ).group(1)

    browser.post(f"{stack.url}/signin", data={"email": email, "csrf_token": form_token("/signin")}, timeout=10)
    mail = wait_for(lambda: [m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]
                             and "/signin/open#" in m["body"]], 60, "the sign-in link")
    token = re.search(r"/signin/open#([A-Za-z0-9_.\-]+)", mail[-1]["body"]).group(1)
    opened = browser.post(f"{stack.url}/signin/open", data={"link": token, "csrf_token": form_token("/signin/open")},
                          allow_redirects=False, timeout=10)
    assert opened.status_code == 303
    done = browser.post(f"{stack.url}/gallery/delete", data={"confirm": "1", "csrf_token": form_token("/gallery")},
                        allow_redirects=False, timeout=10)
    assert done.status_code == 303
    for photo_id, encodings in owned.items():
        _erased(stack, photo_id, encodings)

    # A drop-in (no email: only the admin can delete it): its original under incoming/ goes too.
    key = f"incoming/drop-{uuid.uuid4().hex[:6]}.jpg"
    _aws(stack, "s3").put_object(Bucket="photolane", Key=key, Body=(faces_dir / "obama_2.jpg").read_bytes())

    def dropped() -> str | None:
        export = requests.get(f"{stack.url}/api/admin/export", headers=_admin(stack), timeout=30).json()
        return next((p["id"] for p in export["photos"] if p["original_key"] == key and p["status"] == "processed"),
                    None)

    drop_id = wait_for(dropped, 90, "the drop-in processed")
    encodings = _encodings(stack, drop_id)
    assert requests.delete(f"{stack.url}/api/photos/{drop_id}", headers=_admin(stack), timeout=10).status_code == 202
    _erased(stack, drop_id, encodings)
    assert not _aws(stack, "s3").list_objects_v2(Bucket="photolane", Prefix=key).get("Contents")
