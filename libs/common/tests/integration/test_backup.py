"""photolane backup/restore and the keeper's snapshots, on a real moto server (each test its own resources)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from photolane.cli import main as cli
from photolane.testing import Stack
from photolane_common import aws
from photolane_common.backup import BackupError, Contents, backup, restore, table_names
from photolane_common.collection import CollectionStore
from photolane_common.domain import DEFAULT_COLLECTION, Photo
from photolane_common.keeper import Keeper
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_common.settings import CommonSettings

KEYS = ["originals/a.jpg", "thumbs/a.jpg", "incoming/holiday photo.jpg", "results/a", "results/a/b", "results/dir/",
        "results/x/../y", "faces/weird/ünï cödé?.txt", "results/empty"]


def _fill(settings: CommonSettings) -> None:
    dynamodb = aws.client("dynamodb", settings)
    names = table_names(settings)
    for n in range(30):  # more than one batch of 25
        dynamodb.put_item(TableName=names["photos"], Item={
            "id": {"S": f"photo-{n:02d}"}, "status": {"S": "processed"}, "width": {"N": str(100 + n)},
            "faces": {"L": [{"M": {"top": {"N": "1"}, "encoding": {"B": bytes(range(256)) * 2}}}]},
            "person_ids": {"SS": ["p1", "p2"]}, "flag": {"BOOL": True}, "none": {"NULL": True},
        })
    dynamodb.put_item(TableName=names["people"], Item={
        "id": {"S": "p1"}, "name": {"S": "Barack Obama"}, "version": {"N": "3"},
        "pool": {"S": "default#3"},  # its shard
        "photos": {"L": [{"M": {"key": {"S": "people/p1.jpg"}, "encoding": {"B": b"\x00\xff"}}}]},
        "blobs": {"BS": [b"\x01", b"\x02"]}, "nums": {"NS": ["1", "2.5"]},
    })
    dynamodb.put_item(TableName=names["settings"], Item={"key": {"S": "uploads"}, "value": {"S": '{"blocked": false}'},
                                                         "expires_at": {"N": "4102444800"}})
    for group, face in (("person:p1", "photo-00#0"), ("cluster:c1", "photo-00#1")):  # hash and range key
        dynamodb.put_item(TableName=names["faces"], Item={
            "group": {"S": group}, "face": {"S": face}, "photo_id": {"S": "photo-00"},
            "created_at": {"S": "2026-01-01T00:00:00.000000+0000"}})
    dynamodb.put_item(TableName=names["collections"], Item={
        "id": {"S": "7b"}, "name": {"S": "Class 7B"}, "created_at": {"S": "2026-01-01T00:00:00.000000+0000"},
        "links": {"S": '[{"id": "l1", "hash": "ab", "label": "", "created_at": "2026-01-01T00:00:00+00:00"}]'}})
    s3 = aws.client("s3", settings)
    for n, key in enumerate(KEYS):
        body = b"" if key == "results/empty" else (key.encode() * (n + 1))
        s3.put_object(Bucket=settings.bucket, Key=key, Body=body, ContentType="image/jpeg" if n % 2 else "text/csv",
                      Metadata={"n": str(n)})


def _state(settings: CommonSettings) -> dict[str, Any]:
    dynamodb, s3 = aws.client("dynamodb", settings), aws.client("s3", settings)
    tables = {}
    for role, name in table_names(settings).items():
        items = [i for page in dynamodb.get_paginator("scan").paginate(TableName=name) for i in page["Items"]]
        tables[role] = sorted(items, key=lambda item: repr(sorted(item.items())))  # not by the order of keys
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for o in page.get("Contents", []):
            got = s3.get_object(Bucket=settings.bucket, Key=o["Key"])
            objects[o["Key"]] = (got["Body"].read(), got["ContentType"], got["Metadata"])
    return {"tables": tables, "objects": objects}


def _wipe(settings: CommonSettings) -> None:
    dynamodb, s3 = aws.client("dynamodb", settings), aws.client("s3", settings)
    for name in table_names(settings).values():
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=name, Key={k: item[k] for k in keys})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=settings.bucket, Key=o["Key"])


def _objects_created_events(stack: Stack) -> list[str]:
    """The jobs queue's S3 ObjectCreated events (setting the notifications again sends only a TestEvent)."""
    sqs = aws.client("sqs", CommonSettings())
    bodies = []
    while messages := sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=0).get("Messages"):
        bodies += [m["Body"] for m in messages]
    return [b for b in bodies if "ObjectCreated" in b]


def test_backup_wipe_restore_gives_the_same_items_and_objects(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    assert len(before["tables"]["photos"]) == 30 and len(before["objects"]) == len(KEYS)
    sqs = aws.client("sqs", settings)
    sqs.purge_queue(QueueUrl=stack.resources.jobs_queue_url)  # the drop-in's own notification

    manifest = backup(settings, tmp_path / "backup")
    assert manifest["format"] == "photolane-backup" and manifest["version"] == 1
    # settings: a switch and the marker that every person carries their pool (people.py)
    assert manifest["counts"]["tables"] == {"photos": 30, "people": 1, "settings": 2, "faces": 2, "collections": 1}
    assert manifest["counts"]["objects"] == len(KEYS)
    assert (tmp_path / "backup" / "objects" / "originals" / "a.jpg").read_bytes() == b"originals/a.jpg" * 1
    lines = (tmp_path / "backup" / "tables" / "photos.jsonl").read_text().splitlines()
    assert len(lines) == 30 and all(set(json.loads(line)) == {"Item"} for line in lines)
    assert not [p for p in tmp_path.iterdir() if p.name != "backup"]  # no partial folder left
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700  # emails and phones: owner-only

    _wipe(settings)
    assert _state(settings) == {"tables": {"photos": [], "people": [], "settings": [], "faces": [], "collections": []},
                                "objects": {}}
    first = restore(settings, tmp_path / "backup")
    assert _state(settings) == before
    assert first.objects_written == len(KEYS)
    assert first.items == {"photos": 30, "people": 1, "settings": 2, "faces": 2, "collections": 1}
    assert _objects_created_events(stack) == []  # restored drop-ins (incoming/) are not processed again
    config = aws.client("s3", settings).get_bucket_notification_configuration(Bucket=settings.bucket)
    assert config["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"][0]["Value"] == "incoming/"

    again = restore(settings, tmp_path / "backup")  # idempotent
    assert _state(settings) == before
    assert again.objects_written == 0 and again.objects_unchanged == len(KEYS)


def test_restore_leaves_other_records_unless_pruned(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    backup(settings, tmp_path / "b")
    dynamodb, s3 = aws.client("dynamodb", settings), aws.client("s3", settings)
    dynamodb.put_item(TableName=settings.photos_table, Item={"id": {"S": "later"}, "status": {"S": "queued"}})
    dynamodb.put_item(TableName=settings.photos_table, Item={"id": {"S": "photo-00"}, "status": {"S": "changed"}})
    s3.put_object(Bucket=settings.bucket, Key="originals/later.jpg", Body=b"later")
    s3.put_object(Bucket=settings.bucket, Key="results/a", Body=b"changed")
    s3.put_object(Bucket=settings.bucket, Key="notes/not-ours.txt", Body=b"someone else's")

    kept = restore(settings, tmp_path / "b")
    state = _state(settings)
    assert state["objects"]["results/a"] == before["objects"]["results/a"] and "originals/later.jpg" in state["objects"]
    assert kept.objects_written == 1 and len(state["tables"]["photos"]) == 31

    pruned = restore(settings, tmp_path / "b", prune=True)
    after = _state(settings)
    assert after["objects"].pop("notes/not-ours.txt")[0] == b"someone else's"  # not photolane's: left alone
    assert after == before
    assert (pruned.deleted_items, pruned.deleted_objects) == (1, 1)


def test_a_backup_moves_to_a_deployment_named_otherwise(stack: Stack, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from photolane_common.resources import ensure_resources

    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    backup(settings, tmp_path / "b")
    for var in ("BUCKET", "PHOTOS_TABLE", "PEOPLE_TABLE", "SETTINGS_TABLE", "FACES_TABLE", "COLLECTIONS_TABLE"):
        monkeypatch.setenv(f"PHOTOLANE_{var}", stack.env[f"PHOTOLANE_{var}"] + "-other")
    other = CommonSettings()
    ensure_resources(other)
    restore(other, tmp_path / "b")
    assert _state(other) == before


def _as_made_before(folder: Path, *roles: str) -> None:
    """What ``photolane backup`` wrote before these tables (faces, collections): no file for them."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for role in roles:
        (folder / "tables" / f"{role}.jsonl").unlink()
        del manifest["counts"]["tables"][role]
        del manifest["source"]["tables"][role]
    if "collections" in roles:  # and people carried no pool then
        people = folder / "tables" / "people.jsonl"
        lines = [json.loads(line) for line in people.read_text().splitlines()]
        for line in lines:
            line["Item"].pop("pool", None)
        people.write_text("".join(json.dumps(line) + "\n" for line in lines))
    tables = {role: (folder / "tables" / f"{role}.jsonl").read_text().splitlines()
              for role in manifest["counts"]["tables"]}
    objects = [json.loads(line) for line in (folder / "objects.jsonl").read_text().splitlines()]
    manifest["fingerprint"] = Contents(tables, objects).fingerprint()  # as it was: none of them in it
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_backup_made_before_the_faces_table_restores_with_no_faces(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    backup(settings, tmp_path / "old")
    _as_made_before(tmp_path / "old", "faces", "collections")
    empty = {"faces": [], "collections": []}

    _wipe(settings)
    done = restore(settings, tmp_path / "old")
    assert done.items == {"photos": 30, "people": 1, "settings": 2, "faces": 0, "collections": 0}
    assert _state(settings) == {**before, "tables": {**before["tables"], **empty}}

    _fill(settings)  # faces there now: left alone, unless pruned (the backup has none)
    assert restore(settings, tmp_path / "old").items["faces"] == 0
    assert len(_state(settings)["tables"]["faces"]) == 2
    pruned = restore(settings, tmp_path / "old", prune=True)
    assert pruned.deleted_items == 3 and _state(settings)["tables"]["faces"] == []

    _wipe(settings)  # the keeper's snapshots from before restore the same way
    (tmp_path / "data").mkdir()
    os.symlink(tmp_path / "old", tmp_path / "data" / "current")
    keeper = Keeper(settings, tmp_path / "data")
    restored = keeper.restore()
    assert restored is not None and restored.items["faces"] == 0
    assert _state(settings)["tables"] == {**before["tables"], **empty}
    assert keeper.snapshot() is True  # its people gained their pool (restore): once
    assert keeper.snapshot() is False  # the same data as the last snapshot's: not written again


def test_a_new_backup_without_its_faces_file_is_incomplete(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    backup(settings, tmp_path / "b")
    (tmp_path / "b" / "tables" / "faces.jsonl").unlink()  # the manifest counts faces: the file was lost
    with pytest.raises(BackupError, match="incomplete: tables/faces.jsonl is missing"):
        restore(settings, tmp_path / "b")


def test_the_command_line_backs_up_and_restores_with_progress(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    runner = CliRunner()
    out = runner.invoke(cli, ["backup", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert "backed up 30 photos, 1 people, 2 settings, 2 faces" in out.stdout
    assert "objects: 9/9" in out.stderr and "tables/photos: 30" in out.stderr
    _wipe(settings)
    out = runner.invoke(cli, ["restore", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert f"{len(KEYS)} objects written" in out.stdout
    assert _state(settings) == before

    refused = runner.invoke(cli, ["backup", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "is not an empty folder" in refused.stderr


def test_errors_say_what_to_do(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CommonSettings()
    backup(settings, tmp_path / "b")
    with pytest.raises(BackupError, match="no backup at .*does not exist"):
        restore(settings, tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    with pytest.raises(BackupError, match="not a photolane backup"):
        restore(settings, tmp_path / "junk")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (tmp_path / "b" / "manifest.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(BackupError, match="format version 99"):
        restore(settings, tmp_path / "b")

    monkeypatch.setenv("PHOTOLANE_BUCKET", "no-such-bucket-here")
    with pytest.raises(BackupError, match="no bucket 'no-such-bucket-here'.*PHOTOLANE_BUCKET"):
        backup(CommonSettings(), tmp_path / "c")
    monkeypatch.setenv("PHOTOLANE_BUCKET", stack.env["PHOTOLANE_BUCKET"])
    monkeypatch.setenv("PHOTOLANE_PEOPLE_TABLE", "no-such-table")
    with pytest.raises(BackupError, match="no table 'no-such-table' \\(people\\).*PHOTOLANE_PEOPLE_TABLE"):
        backup(CommonSettings(), tmp_path / "c")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    out = CliRunner().invoke(cli, ["backup", str(tmp_path / "d")])
    assert out.exit_code == 1 and "cannot reach the stand-in at http://127.0.0.1:9" in out.stderr
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_keeper_snapshots_only_changes_atomically_and_restores_them(stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    before = _state(settings)
    keeper = Keeper(settings, tmp_path / "data", interval=0.1)
    assert keeper.snapshot() is False  # never before the restore (here: nothing to restore)
    assert keeper.restore() is None
    assert keeper.snapshot() is True
    first = keeper.snapshots.latest()
    assert first is not None and (tmp_path / "data" / "current").is_symlink()
    assert keeper.snapshot() is False  # nothing changed: nothing written
    aws.client("s3", settings).put_object(Bucket=settings.bucket, Key="originals/new.jpg", Body=b"new")
    assert keeper.snapshot() is True
    second = keeper.snapshots.latest()
    assert second != first and not first.exists()
    # unchanged objects are hard links of the previous snapshot's files, not copies
    assert os.stat(second / "objects" / "originals" / "a.jpg").st_nlink == 1  # the previous one is gone
    (tmp_path / "data" / ".tmp-1").mkdir()  # a snapshot killed half-way
    _wipe(settings)
    fresh = Keeper(settings, tmp_path / "data")
    assert fresh.snapshot() is False
    fresh.restore()
    after = _state(settings)
    assert after["tables"] == before["tables"] and after["objects"]["originals/new.jpg"][0] == b"new"
    assert not (tmp_path / "data" / ".tmp-1").exists()
    assert fresh.snapshot() is False  # the restored state is the snapshot's
    _wipe(settings)
    assert fresh.snapshot() is False  # a stand-in emptied all at once (restarted) never replaces the data:
    assert _state(settings)["tables"] == before["tables"]  # it gets the data back instead
    assert fresh.snapshots.latest() is not None


def test_the_keeper_pauses_longer_when_a_round_takes_long(tmp_path: Path) -> None:
    keeper = Keeper(CommonSettings(), tmp_path / "data", interval=3)
    assert keeper.next_pause(0.1) == 3  # a small library: every interval
    assert keeper.next_pause(2.0) == 10  # a round of 2 s: at most a fifth of a core


def test_a_backup_made_before_collections_restores_everything_into_the_default_collection(
        stack: Stack, tmp_path: Path) -> None:
    settings = CommonSettings()
    _fill(settings)
    now = datetime.now(UTC)  # records as every version before collections wrote them: no collection on them
    PhotoStore().create(Photo("kept", "queued", now, now, "image/jpeg", "originals/kept.jpg"))
    PeopleStore().create("ada", "Ada", {}, "people/ada/1.jpg")
    backup(settings, tmp_path / "old")
    _as_made_before(tmp_path / "old", "collections")
    _wipe(settings)
    assert restore(settings, tmp_path / "old").items["collections"] == 0
    assert PeopleStore().pooled()  # this deployment reads its default people by the index: restore pooled ada
    assert "ada" in [p.id for p in PeopleStore().every_of(DEFAULT_COLLECTION)]
    assert PeopleStore().get("ada").collection == PhotoStore().get("kept").collection == DEFAULT_COLLECTION
    assert CollectionStore().get(DEFAULT_COLLECTION).name == "Default" and CollectionStore().get("7b") is None


@pytest.mark.parametrize(("field", "value", "said"), [
    ("file", "../../../../etc/hostname", "is outside the backup's objects/ folder"),
    ("file", "/etc/hostname", "is outside the backup's objects/ folder"),
    ("key", "../etc/passwd", "is not one photolane writes"),
    ("key", "website/index.html", "is not one photolane writes"),
])
def test_restore_refuses_an_edited_backup_naming_the_line(stack: Stack, tmp_path: Path, field: str, value: str,
                                                          said: str) -> None:
    """A backup is read from disk: an objects.jsonl edited to read a file outside it, or to write a key
    photolane never writes, is refused before anything is restored."""
    settings = CommonSettings()
    _fill(settings)
    backup(settings, tmp_path / "b")
    index = tmp_path / "b" / "objects.jsonl"
    lines = [json.loads(line) for line in index.read_text().splitlines()]
    lines[2][field] = value
    index.write_text("".join(json.dumps(line) + "\n" for line in lines))
    _wipe(settings)
    with pytest.raises(BackupError, match=f"line 3: the {field} .*{said}"):
        restore(settings, tmp_path / "b")
    assert _state(settings)["objects"] == {} and _state(settings)["tables"]["photos"] == []
