"""A deleted photo erased with everything made from it, against a real moto server with the real model:
objects, faces filed, clusters counted again, samples, index rows, snapshots and feed entries, the
record last; each job also delivered twice, killed part way, and raced by its own processing. A deleted
person's leftovers and all of an owner's photos too."""

import base64
import io
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from photolane_common import aws
from photolane_common.aws import BlobStore
from photolane_common.domain import ERASING, Photo
from photolane_common.feed import erase_mentions
from photolane_common.messages import OwnerPhotosDeleted, PersonDeleted, PhotoDeleted
from photolane_common.models import FaceModel, PhotoModel, SettingModel
from photolane_common.photos import PhotoStore, pending_shard
from photolane_common.settings import CommonSettings
from photolane_processor import erasure, retention
from photolane_processor.handlers import ProcessorDeps
from photolane_processor.known import UnknownFaces
from photolane_processor.mirror import INDEX_PREFIX
from photolane_processor.reconcile import Reconciler
from photolane_processor.vectors import VectorSet

from ..conftest import stored_photo
from .test_naming import _name_face
from .test_people import _enroll, _process, _run

GROUP = "group_obama_biden_and_one_more.jpg"


def _keys(deps: ProcessorDeps) -> list[str]:
    return deps.blobs.keys_under("")


def _snapshot_rows(deps: ProcessorDeps, prefix: str) -> list[bytes]:
    """Every vector of every snapshot object under ``prefix`` (index/<name>/), as bytes."""
    rows = []
    for key in deps.blobs.keys_under(prefix):
        vectors, _ = VectorSet.load(io.BytesIO(deps.blobs.get(key)))
        for number, block in enumerate(vectors.blocks):
            used = min(vectors.block_rows, vectors.used - number * vectors.block_rows)
            rows += [block.values(int(i)).astype("<f4").tobytes() for i in block.live(used)]
    return rows


def _mentions(deps: ProcessorDeps, photo: Photo) -> list[str]:
    """Where anything of the photo is left (``_traces``): its id or one of its encodings."""
    return _traces(deps, photo.id, [f.encoding for f in photo.faces if f.encoding])


def _traces(deps: ProcessorDeps, photo_id: str, encodings: list[bytes]) -> list[str]:
    """The id, or an encoding (raw or base64), in any S3 object (key or bytes) or any item of any table
    (the bucket listed, every table scanned), or an encoding as a row of any index snapshot."""
    needles = [photo_id.encode(), *encodings, *(base64.b64encode(e) for e in encodings)]
    found = [f"s3:{key}" for key in _keys(deps) if photo_id in key or any(n in deps.blobs.get(key) for n in needles)]
    dynamodb, settings = aws.client("dynamodb", CommonSettings()), CommonSettings()
    for table in (settings.photos_table, settings.people_table, settings.settings_table, settings.faces_table,
                  settings.collections_table):
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                text = json.dumps(item, default=lambda b: base64.b64encode(b).decode()).encode()
                if any(n in text or n in raw for n in needles for raw in _binaries(item)):
                    found.append(f"{table}: {text[:120]!r}")
    found += [f"a snapshot row under {INDEX_PREFIX}" for row in _snapshot_rows(deps, INDEX_PREFIX) if row in encodings]
    return found


def _binaries(value: object) -> list[bytes]:
    """Every binary value of a low-level DynamoDB item (maps and lists walked)."""
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _binaries(v)]
    if isinstance(value, list):
        return [b for v in value for b in _binaries(v)]
    return []


def _snapshot(deps: ProcessorDeps) -> None:
    """This processor's unknown-face index, current, written as the latest snapshot."""
    mirror = deps.indexes.unknown()
    mirror.refresh()
    assert mirror.write_snapshot(mirror.feed.snapshot())


def _delete(deps: ProcessorDeps, photo: Photo) -> None:
    """What the upload service does, then the job."""
    assert deps.photos.mark_erasing(photo.id)
    _run(deps, PhotoDeleted(photo_id=photo.id))


def _other_unknown(deps: ProcessorDeps) -> UnknownFaces:
    """Another processor's unknown-face index (its own stores and bucket client)."""
    return UnknownFaces(PhotoStore(), BlobStore(aws.client("s3", deps.settings), deps.settings.bucket))


def _two_of_a_group(deps: ProcessorDeps, faces_dir: Path) -> tuple[Photo, Photo]:
    """Kit alone, then Kit and Rose: Kit's cluster has a face of both, Rose's only the second's."""
    first = _process(deps, (faces_dir / "kit_harington_1.jpg").read_bytes())
    second = _process(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    assert len(second.faces) == 2 and first.faces[0].cluster in {f.cluster for f in second.faces}
    assert len(deps.photos.unknown_people(10)[0]) == 2
    return first, second


def test_a_deleted_photo_is_erased_with_everything_made_from_it(deps: ProcessorDeps, faces_dir: Path) -> None:
    kept, gone = _two_of_a_group(deps, faces_dir)
    other = _other_unknown(deps)
    other.refresh()  # another processor holding both photos' rows
    _snapshot(deps)  # a snapshot holding the photo's encodings
    assert set(_snapshot_rows(deps, f"{INDEX_PREFIX}unknown/")) >= {f.encoding for f in gone.faces}
    SettingModel(f"claim:{gone.id}:email", counter=1).save()  # something else keyed by the photo
    assert _mentions(deps, gone)

    _delete(deps, gone)

    assert deps.photos.get(gone.id) is None
    assert _mentions(deps, gone) == []
    # The cluster shared stays, counted again (one face, one photo: the photo kept); the other is empty, gone.
    clusters = deps.photos.unknown_people(10)[0]
    assert [(c.cluster, c.faces, c.photos, c.sample, c.cover.photo_id) for c in clusters] == \
        [(kept.faces[0].cluster, 1, 1, (kept.id,), kept.id)]
    assert deps.photos.get(kept.id).faces == kept.faces and deps.blobs.get(kept.results_key)
    # Every index drops its rows: this processor's, and another's that meets the tombstones.
    assert not deps.indexes.unknown().vectors.within(_queries(gone), 0.01)
    assert other.refresh() and not other.vectors.within(_queries(gone), 0.01)
    assert {h.owner for h in other.vectors.within(_queries(kept), 0.01)} == {kept.id}
    # The current snapshot holds the kept photo's rows, not the erased one's.
    assert set(_snapshot_rows(deps, f"{INDEX_PREFIX}unknown/")) == {f.encoding for f in kept.faces}

    _run(deps, PhotoDeleted(photo_id=gone.id))  # delivered again: nothing left to do, no error
    assert _mentions(deps, gone) == [] and len(deps.photos.unknown_people(10)[0]) == 1


def _queries(photo: Photo) -> np.ndarray:
    return np.stack([np.frombuffer(f.encoding, dtype=np.float32) for f in photo.faces])


def test_a_processor_behind_the_erasure_never_writes_its_rows_into_a_later_snapshot(
        deps: ProcessorDeps, faces_dir: Path) -> None:
    kept, gone = _two_of_a_group(deps, faces_dir)
    behind = _other_unknown(deps)
    behind.refresh()
    _delete(deps, gone)
    # It never read the erasure: its snapshot (a lower number) is refused and its object deleted.
    assert not behind.write_snapshot(behind.feed.snapshot())
    assert set(_snapshot_rows(deps, f"{INDEX_PREFIX}unknown/")) == {f.encoding for f in kept.faces}
    # Changes come after the erasure; it catches up through the tombstones (a reload): its next snapshot
    # holds only what is there.
    _process(deps, (faces_dir / "rose_leslie_1.jpg").read_bytes())
    behind.refresh()
    assert not behind.vectors.within(_queries(gone), 0.01) and behind.vectors.within(_queries(kept), 0.01)
    assert behind.write_snapshot(behind.feed.snapshot())
    assert not set(_snapshot_rows(deps, f"{INDEX_PREFIX}unknown/")) & {f.encoding for f in gone.faces}
    # A cold start (the snapshot and the changes since) never sees them either.
    cold = _other_unknown(deps)
    cold.refresh()
    assert not cold.vectors.within(_queries(gone), 0.01) and cold.vectors.within(_queries(kept), 0.01)


def test_a_tombstone_newer_than_the_snapshot_reloads_the_index_from_the_table(deps: ProcessorDeps,
                                                                              faces_dir: Path) -> None:
    first = _process(deps, (faces_dir / "kit_harington_1.jpg").read_bytes())
    _snapshot(deps)
    behind = _other_unknown(deps)
    behind.refresh()  # from the snapshot
    second = _process(deps, (faces_dir / "rose_leslie_1.jpg").read_bytes())
    assert erase_mentions(second.id) == 1  # its entry a tombstone, and no snapshot after it
    full_loads, rows = [], behind.source.all_rows
    behind.source.all_rows = lambda: (full_loads.append(1), rows())[1]  # type: ignore[method-assign]
    behind.refresh()
    assert full_loads == [1]
    assert behind.vectors.within(_queries(first), 0.01) and behind.vectors.within(_queries(second), 0.01)
    assert behind.number == behind.feed.head() and not behind.holes


STEPS = ["_drop_samples", "_delete_objects", "_unfile", "erase_mentions"]


@pytest.mark.parametrize("dies_before", STEPS)
def test_an_erasure_killed_part_way_is_finished_by_its_redelivery(deps: ProcessorDeps, faces_dir: Path,
                                                                  dies_before: str) -> None:
    kept, gone = _two_of_a_group(deps, faces_dir)
    _snapshot(deps)

    def killed(*_: object) -> None:
        raise SystemExit("killed")

    assert deps.photos.mark_erasing(gone.id)
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(erasure, dies_before, killed)
        _run(deps, PhotoDeleted(photo_id=gone.id))
    assert deps.photos.get(gone.id).status == ERASING  # the record goes last
    _run(deps, PhotoDeleted(photo_id=gone.id))  # SQS delivers it again

    assert _mentions(deps, gone) == []
    assert all(c.faces == 1 and c.sample == (kept.id,) for c in deps.photos.unknown_people(10)[0])


def test_a_sample_taken_from_the_photo_leaves_the_person(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes())
    group = _process(deps, (faces_dir / GROUP).read_bytes())
    index = next(i for i, f in enumerate(group.faces) if f.person_id is None)
    named, job = _name_face(deps, group, index, "The Third Man")  # a sample taken from the photo's face
    assert deps.people.get(named).encodings == (group.faces[index].encoding,)
    known = deps.indexes.known()
    assert known.write_snapshot(known.feed.snapshot())  # the people index's snapshot holds that template
    group = deps.photos.get(group.id)

    _delete(deps, group)

    person = deps.people.get(named)
    assert person is not None and person.photos == () and person.status == "failed"  # kept, no sample left
    assert job.photo_key not in _keys(deps)
    assert _mentions(deps, group) == []
    assert len(deps.people.get(obama).encodings) == 1  # an enrollment not from the photo stays
    assert not {h.owner for h in deps.indexes.known().vectors.within(_queries(group), 0.01)} & {named}


def test_a_photo_deleted_while_processed_keeps_nothing(deps: ProcessorDeps, faces_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    job = stored_photo(deps, (faces_dir / GROUP).read_bytes())
    recorded = deps.photos.mark_processed

    def deleted_first(photo_id: str, *args: object) -> bool:
        deps.photos.mark_erasing(photo_id)  # the owner deletes it while its faces are found
        return recorded(photo_id, *args)

    monkeypatch.setattr(deps.photos, "mark_processed", deleted_first)
    _run(deps, job)
    assert deps.photos.get(job.photo_id).status == ERASING  # never processed over the deletion
    assert [k for k in _keys(deps) if job.photo_id in k] == [job.original_key]  # what it made, discarded
    _run(deps, PhotoDeleted(photo_id=job.photo_id))
    _run(deps, job)  # the processing job again, late: nothing
    assert deps.photos.get(job.photo_id) is None and _keys(deps) == []


def test_a_photo_deleted_between_its_result_and_its_faces_filing_is_erased_by_its_run(
        deps: ProcessorDeps, faces_dir: Path) -> None:
    first = _process(deps, (faces_dir / GROUP).read_bytes())
    job = stored_photo(deps, (faces_dir / GROUP).read_bytes())
    filed = deps.photos.file_faces

    def erased_then_filed(*changes: object) -> None:
        photo = changes[0][0]
        if photo.id == job.photo_id and deps.photos.get(photo.id) is not None:
            deps.photos.mark_erasing(photo.id)
            _run(deps, PhotoDeleted(photo_id=photo.id))  # the erasure runs before the faces are filed
        filed(*changes)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deps.photos, "file_faces", erased_then_filed)
        _run(deps, job)
    assert deps.photos.get(job.photo_id) is None
    assert _traces(deps, job.photo_id, []) == []
    assert not [i for i in FaceModel.scan() if job.photo_id in (i.face or "")]  # no pointer filed late
    assert all(c.faces == 1 and c.sample == (first.id,) for c in deps.photos.unknown_people(10)[0])


def test_a_deleted_persons_pictures_pointers_and_template_are_erased(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes())
    template = deps.people.get(obama).encodings[0]  # one sample: the template is its encoding
    photo = _process(deps, (faces_dir / "obama_2.jpg").read_bytes())
    assert photo.faces[0].person_id == obama
    known = deps.indexes.known()
    assert known.write_snapshot(known.feed.snapshot())
    assert template in _snapshot_rows(deps, f"{INDEX_PREFIX}people/")

    assert deps.people.delete(obama)  # what the upload service does, then the job
    deps.people.announce(obama)
    _run(deps, PersonDeleted(person_id=obama))

    assert not [k for k in _keys(deps) if k.startswith(f"people/{obama}/")]
    assert deps.photos.faces_of(f"person:{obama}")[0] == []
    assert template not in _snapshot_rows(deps, f"{INDEX_PREFIX}people/")
    assert deps.photos.get(photo.id).faces[0].person_id is None
    _run(deps, PersonDeleted(person_id=obama))  # again: nothing left, no error


def _drained(deps: ProcessorDeps) -> list[dict]:
    """Every message waiting in the jobs queue (S3's test event among them), taken out."""
    assert deps.jobs is not None
    sqs, found = deps.jobs.sqs, []
    while got := sqs.receive_message(QueueUrl=deps.jobs.url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=0).get("Messages", []):
        found += [json.loads(m["Body"]) for m in got]
        sqs.delete_message_batch(QueueUrl=deps.jobs.url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)])
    return found


def test_the_owner_job_marks_and_queues_each_photo_sent_before_it(deps: ProcessorDeps, faces_dir: Path) -> None:
    data = (faces_dir / "obama_1.jpg").read_bytes()
    mine = [stored_photo(deps, data, email="Owner@Example.com").photo_id for _ in range(3)]
    theirs = stored_photo(deps, data, email="other@example.com").photo_id
    before = datetime.now(UTC)
    later = stored_photo(deps, data, email="owner@example.com").photo_id

    job = OwnerPhotosDeleted(owner="owner@example.com", before=before)
    _run(deps, job)
    _run(deps, job)  # delivered again: marked again, queued again (the erasures are idempotent)
    assert {pid: deps.photos.get(pid).status for pid in [*mine, theirs, later]} == \
        {**dict.fromkeys(mine, ERASING), theirs: "queued", later: "queued"}
    queued = [m["data"]["photo_id"] for m in _drained(deps) if m.get("type") == "photo.deleted"]
    assert sorted(queued) == sorted(mine * 2)
    for photo_id in mine:
        _run(deps, PhotoDeleted(photo_id=photo_id))
    assert [p.id for p in deps.photos.owned_all("owner@example.com")] == [later]


def test_a_lost_erasure_is_sent_again_by_the_reconciler_and_never_given_up(deps: ProcessorDeps,
                                                                          faces_dir: Path) -> None:
    job = stored_photo(deps, (faces_dir / "obama_1.jpg").read_bytes())
    assert deps.photos.mark_erasing(job.photo_id)  # and the upload service died before queueing its job
    old = datetime.now(UTC) - timedelta(hours=1)
    PhotoModel(job.photo_id).update(actions=[PhotoModel.updated_at.set(old), PhotoModel.nudges.set(99)])
    _drained(deps)  # no backlog: a lost job is sent again only then
    assert Reconciler(deps).run_once() == 1
    assert [m.get("type") for m in _drained(deps)] == ["photo.deleted"]
    assert deps.photos.get(job.photo_id).status == ERASING  # never given up (failed)
    _run(deps, PhotoDeleted(photo_id=job.photo_id))
    assert deps.photos.get(job.photo_id) is None and _keys(deps) == []


def test_a_photo_not_being_deleted_is_never_erased_by_a_stray_job(deps: ProcessorDeps, faces_dir: Path) -> None:
    photo = _process(deps, (faces_dir / "obama_1.jpg").read_bytes())
    _run(deps, PhotoDeleted(photo_id=photo.id))
    assert deps.photos.get(photo.id) == photo and photo.original_key in _keys(deps)
    _run(deps, PhotoDeleted(photo_id=str(uuid.uuid4())))  # no such photo: nothing, no error


# -- retention: photos past PHOTOLANE_RETENTION_DAYS go the same way -----------------------------------
def _keeping(deps: ProcessorDeps, days: int) -> ProcessorDeps:
    return replace(deps, settings=deps.settings.model_copy(update={"retention_days": days}))


def _created(photo_id: str, days_ago: float, sharded: bool = True) -> None:
    """The record as if uploaded that long ago (``sharded`` False: by a version before the created index)."""
    created = datetime.now(UTC) - timedelta(days=days_ago)
    PhotoModel(photo_id).update(actions=[PhotoModel.created_at.set(created),
                                         PhotoModel.created_shard.set(pending_shard(photo_id)) if sharded
                                         else PhotoModel.created_shard.remove()])


def _expired_jobs(deps: ProcessorDeps) -> list[str]:
    return sorted(m["data"]["photo_id"] for m in _drained(deps) if m.get("type") == "photo.deleted")


def test_photos_past_the_retention_are_erased_with_everything_made_from_them(deps: ProcessorDeps,
                                                                             faces_dir: Path) -> None:
    deps = _keeping(deps, 30)
    kept, gone = _two_of_a_group(deps, faces_dir)
    older = _process(deps, (faces_dir / "obama_1.jpg").read_bytes())
    _snapshot(deps)  # a snapshot holding the expired photos' encodings
    _created(kept.id, 29)
    _created(gone.id, 31)
    _created(older.id, 400, sharded=False)  # stored before the sweep's index: sharded by its first run
    _drained(deps)

    assert retention.sweep(deps) == 2
    assert {p: deps.photos.get(p).status for p in (gone.id, older.id)} == dict.fromkeys((gone.id, older.id), ERASING)
    expired = _expired_jobs(deps)
    assert expired == sorted([gone.id, older.id])
    for photo_id in expired:
        _run(deps, PhotoDeleted(photo_id=photo_id))

    assert deps.photos.get(gone.id) is None and deps.photos.get(older.id) is None
    assert _mentions(deps, gone) == [] and _mentions(deps, older) == []  # objects, faces, indexes, snapshots
    assert deps.photos.get(kept.id).faces == kept.faces and deps.blobs.get(kept.original_key)
    assert not deps.indexes.unknown().vectors.within(_queries(gone), 0.01)
    assert [c.photos for c in deps.photos.unknown_people(10)[0]] == [1]  # the kept photo's cluster, counted again
    assert retention.sweep(deps) == 0 and _expired_jobs(deps) == []  # nothing past it is left


def test_a_sweep_killed_between_its_mark_and_its_message_is_finished_by_the_next(deps: ProcessorDeps,
                                                                                faces_dir: Path) -> None:
    deps = _keeping(deps, 7)
    photo = _process(deps, (faces_dir / "obama_1.jpg").read_bytes())
    _created(photo.id, 8)
    _drained(deps)

    class Killed(BaseException):
        """The process dying at this line: nothing after it runs."""

    class DyingQueue:
        def send(self, message: object) -> None:
            raise Killed()

    with pytest.raises(Killed):
        retention.sweep(replace(deps, jobs=DyingQueue()))
    assert deps.photos.get(photo.id).status == ERASING and _expired_jobs(deps) == []
    assert retention.sweep(deps) == 0  # just marked: its job may still be on its way, not sent twice

    unchanged = datetime.now(UTC) - timedelta(seconds=deps.settings.reconcile_after_seconds + 1)
    PhotoModel(photo.id).update(actions=[PhotoModel.updated_at.set(unchanged)])
    assert retention.sweep(deps) == 1
    assert retention.sweep(deps) == 0  # marked again just now: one message, whoever sweeps
    assert _expired_jobs(deps) == [photo.id]
    _run(deps, PhotoDeleted(photo_id=photo.id))
    assert deps.photos.get(photo.id) is None and _mentions(deps, photo) == []


def test_without_retention_nothing_is_swept(deps: ProcessorDeps, faces_dir: Path) -> None:
    photo = stored_photo(deps, (faces_dir / "obama_1.jpg").read_bytes())
    _created(photo.photo_id, 10_000)
    _drained(deps)
    assert deps.settings.retention_days is None and retention.sweep(deps) == 0
    assert deps.photos.get(photo.photo_id).status == "queued" and _expired_jobs(deps) == []
