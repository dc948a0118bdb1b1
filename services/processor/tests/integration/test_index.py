"""The in-memory face indexes kept current from the change feeds, against a real moto server.

``deps`` is one processor; each test builds another (its own KnownPeople / UnknownFaces, stores and
bucket client on the same tables and bucket) and checks what reaches it, and what it reads to get it.
"""

import uuid
from pathlib import Path

import numpy as np
import pytest

from photolane_common import aws
from photolane_common.aws import BlobStore, MissingObject
from photolane_common.messages import PersonPhotoAdded, decode, encode
from photolane_common.models import SettingModel
from photolane_common.people import PEOPLE_FEED, PeopleStore
from photolane_common.photos import PhotoStore
from photolane_processor.handlers import ProcessorDeps, handle
from photolane_processor.known import KnownPeople, UnknownFaces
from photolane_processor.matching import from_bytes, to_bytes
from photolane_processor.mirror import INDEX_PREFIX, Mirror, MirrorSettings
from photolane_processor.policy import template

from ..conftest import stored_photo


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _blobs(deps: ProcessorDeps) -> BlobStore:
    """The other processor's own client of the same bucket."""
    return BlobStore(aws.client("s3", deps.settings), deps.settings.bucket)


def _other_known(deps: ProcessorDeps, settings: MirrorSettings | None = None) -> KnownPeople:
    return KnownPeople(PeopleStore(), _blobs(deps), settings)


def _person(deps: ProcessorDeps, encodings: np.ndarray, person_id: str | None = None) -> str:
    """A person enrolled from synthetic encodings (one enrollment photo each), announced."""
    person_id = person_id or str(uuid.uuid4())
    keys = [f"people/{person_id}/{i}.jpg" for i in range(len(encodings))]
    deps.people.create(person_id, f"P {person_id[:4]}", {}, keys)
    for key, encoding in zip(keys, encodings, strict=True):
        deps.people.photo_enrolled(person_id, key, to_bytes(encoding))
    deps.people.announce(person_id)
    return person_id


def _delete(deps: ProcessorDeps, person_id: str) -> None:
    assert deps.people.delete(person_id)
    deps.people.announce(person_id)


class Spy:
    """Counts the calls of one method of one object (and passes them on)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, target: object, name: str, fail: bool = False) -> None:
        self.calls: list[tuple] = []
        original = getattr(target, name)

        def spy(*args: object, **kwargs: object) -> object:
            self.calls.append(args)
            if fail:
                raise AssertionError(f"{name} should not be called")
            return original(*args, **kwargs)

        monkeypatch.setattr(target, name, spy)


def _expected(deps: ProcessorDeps) -> dict[tuple[str, int], bytes]:
    """The rows the people table says the index holds: (person, samples) → their template."""
    return {(person.id, len(person.encodings)): to_bytes(template([from_bytes(e) for e in person.encodings]))
            for person in deps.people.every() if person.encodings}


def _assert_same(mirror: Mirror, other: Mirror, rows: dict[tuple[str, int], bytes]) -> None:
    """Both hold exactly ``rows``: each stored vector finds itself, in both, with the same hits."""
    assert len(mirror.vectors) == len(other.vectors) == len(rows)
    if not rows:
        return
    queries = np.stack([from_bytes(encoding) for encoding in rows.values()])
    for vectors in (mirror.vectors, other.vectors):
        hits = vectors.nearest(queries)
        assert [(h.owner, h.slot, h.tag) for h in hits] == [(*key, None) for key in rows]
        assert max(h.distance for h in hits) < 1e-3  # float32 rounding (|a|²+|b|²-2a·b), not 0
    far = _unit(np.random.default_rng(99), 5)  # and queries that are no one's row: the same nearest
    ours, theirs = mirror.vectors.nearest(far), other.vectors.nearest(far)
    assert [(h.owner, h.slot) for h in ours] == [(h.owner, h.slot) for h in theirs]
    assert [h.distance for h in ours] == pytest.approx([h.distance for h in theirs], abs=1e-3)


def test_a_change_through_one_processor_reaches_the_other_on_its_next_refresh(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(30)
    first = _person(deps, _unit(rng, 2))
    other = _other_known(deps)
    assert other.refresh() == 1  # cold: the whole (small) table, one template a person
    assert other.number == 1
    changes = Spy(monkeypatch, other.feed, "changes")
    rows_of = Spy(monkeypatch, other.source, "rows_of")
    all_rows = Spy(monkeypatch, other.source, "all_rows", fail=True)
    head = Spy(monkeypatch, other.feed, "head")
    snapshot = Spy(monkeypatch, other.feed, "snapshot", fail=True)

    generation = other.generation
    assert other.refresh() == 0  # nothing changed: the head only
    assert other.refresh() == 0
    assert changes.calls == [] and rows_of.calls == [] and other.generation == generation
    assert len(head.calls) == 2 and snapshot.calls == []

    # Enrolled through the handlers of the first processor, from a real photo.
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, (faces_dir / "obama_1.jpg").read_bytes(), "image/jpeg")
    deps.people.create(person_id, "Barack Obama", {}, key)
    handle(decode(encode(PersonPhotoAdded(person_id=person_id, photo_key=key))), deps)
    assert other.refresh() == 1
    assert changes.calls == [([2],)] and rows_of.calls == [([person_id],)]
    assert other.generation == generation + 1
    obama = from_bytes(deps.people.get(person_id).encodings[0])
    hit = other.vectors.nearest(obama[None])[0]
    assert (hit.owner, hit.slot) == (person_id, 1) and hit.distance < 1e-3  # slot: the template's samples

    # Two people at once, one of them announced twice: one read of each.
    second = _person(deps, _unit(rng, 3))
    third = _person(deps, _unit(rng, 1))
    deps.people.announce(second)
    assert other.refresh() == 2
    assert changes.calls[1:] == [([3, 4, 5],)]
    assert rows_of.calls[1:] == [(sorted([second, third]),)]
    assert other.number == deps.people.version() == 5

    changes.calls.clear()
    rows_of.calls.clear()
    assert other.refresh() == 0
    assert changes.calls == [] and rows_of.calls == [] and all_rows.calls == []
    deps.indexes.known().refresh()
    assert {p for p, _ in _expected(deps)} == {first, person_id, second, third}
    _assert_same(other, deps.indexes.known(), _expected(deps))


def test_a_deleted_person_leaves_the_other_processors_index(deps: ProcessorDeps,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(31)
    encodings = {name: _unit(rng, 2) for name in "abc"}
    people = {name: _person(deps, e) for name, e in encodings.items()}
    other = _other_known(deps)
    other.refresh()
    assert len(other.vectors) == 3  # one template a person
    rows_of = Spy(monkeypatch, other.source, "rows_of")

    _delete(deps, people["b"])
    assert other.refresh() == 1
    assert rows_of.calls == [([people["b"]],)]
    assert len(other.vectors) == 2
    hits = other.vectors.nearest(encodings["b"])
    assert people["b"] not in {h.owner for h in hits}
    assert other.vectors.within(encodings["b"], 0.1) == []
    deps.indexes.known().refresh()
    _assert_same(other, deps.indexes.known(), _expected(deps))


def _keys(deps: ProcessorDeps, index: str = "people") -> list[str]:
    listed = deps.blobs.s3.list_objects_v2(Bucket=deps.settings.bucket, Prefix=f"{INDEX_PREFIX}{index}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_a_cold_start_loads_the_snapshot_and_the_changes_since(deps: ProcessorDeps,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(32)
    every = MirrorSettings(snapshot_every=1)
    writer = KnownPeople(deps.people, deps.blobs, every)
    people = [_person(deps, _unit(rng, 1 + i % 3)) for i in range(5)]
    writer.refresh()
    assert _keys(deps) == []
    assert writer.maybe_snapshot()
    first = writer.feed.snapshot()
    assert first.number == 5 and first.holes == () and _keys(deps) == [first.key]
    assert not writer.maybe_snapshot()  # nothing new since

    # Later changes: a new person, a deleted one, one with another enrollment photo.
    new = _person(deps, _unit(rng, 2))
    _delete(deps, people[0])
    key = f"people/{people[1]}/9.jpg"
    deps.people.add_photo(people[1], key)
    deps.people.photo_enrolled(people[1], key, to_bytes(_unit(rng, 1)[0]))
    deps.people.announce(people[1])

    cold = _other_known(deps, every)
    all_rows = Spy(monkeypatch, cold.source, "all_rows", fail=True)
    rows_of = Spy(monkeypatch, cold.source, "rows_of")
    cold.refresh()
    assert all_rows.calls == []
    assert rows_of.calls == [(sorted([new, people[0], people[1]]),)]  # only the changes since the snapshot
    assert cold.number == 8 and cold.holes == {}
    writer.refresh()
    rows = _expected(deps)
    assert len(rows) == 5 - 1 + 1  # 5 people, minus one, plus one: one template a person
    _assert_same(cold, writer, rows)

    # A newer snapshot (the lease of the first has expired) replaces the older one in the bucket.
    SettingModel(f"{PEOPLE_FEED}:snapshot-lease").delete()
    assert writer.maybe_snapshot()
    second = writer.feed.snapshot()
    assert second.number == 8 and second.key != first.key
    assert _keys(deps) == [second.key]
    with pytest.raises(MissingObject):
        deps.blobs.get(first.key)

    again = _other_known(deps, every)
    Spy(monkeypatch, again.source, "all_rows", fail=True)
    changes = Spy(monkeypatch, again.feed, "changes")
    again.refresh()
    assert again.number == 8
    assert changes.calls in ([], [([],)])  # nothing to replay
    _assert_same(again, writer, rows)


def test_a_snapshot_writer_holds_the_lease(deps: ProcessorDeps) -> None:
    every = MirrorSettings(snapshot_every=1)
    _person(deps, _unit(np.random.default_rng(33), 1))
    one, two = _other_known(deps, every), _other_known(deps, every)
    one.refresh()
    two.refresh()
    assert one.feed.take_lease(one.holder, 600)  # one is writing a snapshot
    _person(deps, _unit(np.random.default_rng(34), 1))
    two.refresh()
    assert not two.maybe_snapshot()  # one writer at a time
    assert two.feed.snapshot() is None
    one.feed.release_lease(one.holder)  # written: the lease is given back at once
    assert two.maybe_snapshot()
    assert two.feed.snapshot().number == 2


def test_without_a_snapshot_a_cold_start_reads_the_whole_table(deps: ProcessorDeps,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(35)
    people = [_person(deps, _unit(rng, 1 + i % 2)) for i in range(6)]
    _delete(deps, people[2])
    deps.indexes.known().refresh()
    cold = _other_known(deps)
    all_rows = Spy(monkeypatch, cold.source, "all_rows")
    changes = Spy(monkeypatch, cold.feed, "changes")
    assert cold.refresh() == 5
    assert len(all_rows.calls) == 1 and changes.calls == []  # the head, then the table once
    assert cold.number == 7
    _assert_same(cold, deps.indexes.known(), _expected(deps))
    # From then on, changes only.
    rows_of = Spy(monkeypatch, cold.source, "rows_of")
    late = _person(deps, _unit(rng, 1))
    assert cold.refresh() == 1
    assert rows_of.calls == [([late],)] and len(all_rows.calls) == 1
    deps.indexes.known().refresh()
    _assert_same(cold, deps.indexes.known(), _expected(deps))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _bump() -> None:
    """A number taken with no entry written: a writer that died between the counter and the entry."""
    SettingModel(PEOPLE_FEED).update(actions=[SettingModel.counter.add(1)])


def test_a_hole_does_not_block_later_changes_and_is_dropped_after_hole_seconds(
        deps: ProcessorDeps, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(36)
    _person(deps, _unit(rng, 1))  # 1
    clock = Clock()
    other = _other_known(deps, MirrorSettings(hole_seconds=120))
    other.clock = clock
    other.refresh()
    _bump()  # 2: never comes
    after = _person(deps, _unit(rng, 2))  # 3
    changes = Spy(monkeypatch, other.feed, "changes")
    rows_of = Spy(monkeypatch, other.source, "rows_of")
    assert other.refresh() == 1
    assert rows_of.calls == [([after],)]  # the change after the hole is applied at once
    assert other.number == 3 and other.holes == {2: 1000.0}
    assert changes.calls == [([2, 3],)]

    clock.now += 60
    assert other.refresh() == 0  # the head has not moved: the hole alone is looked for again
    assert changes.calls[-1] == ([2],) and other.holes == {2: 1000.0}
    later = _person(deps, _unit(rng, 1))  # 4
    clock.now += 60  # 120 s: not yet more than hole_seconds
    assert other.refresh() == 1
    assert changes.calls[-1] == ([4, 2],) and other.holes == {2: 1000.0}
    assert rows_of.calls[-1] == ([later],)
    clock.now += 0.5
    assert other.refresh() == 0
    assert changes.calls[-1] == ([2],) and other.holes == {}  # dropped
    count = len(changes.calls)
    assert other.refresh() == 0
    assert len(changes.calls) == count  # no hole, no change: the head only
    deps.indexes.known().refresh()
    _assert_same(other, deps.indexes.known(), _expected(deps))


def test_a_hole_filled_late_is_applied_also_from_a_snapshot(deps: ProcessorDeps) -> None:
    rng = np.random.default_rng(37)
    _person(deps, _unit(rng, 1))  # 1
    every = MirrorSettings(snapshot_every=1)
    writer = _other_known(deps, every)
    writer.refresh()
    # A slow writer: its record is written, its number (2) taken, its entry not yet.
    slow = str(uuid.uuid4())
    deps.people.create(slow, "Slow", {}, f"people/{slow}/1.jpg")
    deps.people.photo_enrolled(slow, f"people/{slow}/1.jpg", to_bytes(_unit(rng, 1)[0]))
    _bump()
    _person(deps, _unit(rng, 1))  # 3
    writer.refresh()
    assert set(writer.holes) == {2} and len(writer.vectors) == 2
    assert writer.maybe_snapshot()
    assert writer.feed.snapshot().holes == (2,)

    cold = _other_known(deps, every)
    cold.refresh()
    assert set(cold.holes) == {2} and cold.number == 3 and len(cold.vectors) == 2
    SettingModel(f"{PEOPLE_FEED}#2", value={"id": slow}).save()  # the entry, at last
    assert cold.refresh() == 1 and writer.refresh() == 1
    assert cold.holes == {} and writer.holes == {}
    _assert_same(cold, writer, _expected(deps))
    assert len(cold.vectors) == 3


JUNK = b"junk\x00\xff" * 100


@pytest.mark.parametrize("spoil", [
    "junk",
    "truncated",
    "missing",
    "json-number",  # JSON, but not a snapshot header
])
def test_an_unreadable_snapshot_falls_back_to_the_full_load(deps: ProcessorDeps, monkeypatch: pytest.MonkeyPatch,
                                                            spoil: str) -> None:
    rng = np.random.default_rng(38)
    people = [_person(deps, _unit(rng, 2)) for _ in range(4)]
    every = MirrorSettings(snapshot_every=1)
    writer = KnownPeople(deps.people, deps.blobs, every)
    writer.refresh()
    assert writer.maybe_snapshot()
    snapshot = writer.feed.snapshot()
    _delete(deps, people[1])
    _person(deps, _unit(rng, 1))
    if spoil == "junk":
        deps.blobs.put(snapshot.key, JUNK, "application/octet-stream")
    elif spoil == "truncated":
        data = deps.blobs.get(snapshot.key)
        deps.blobs.put(snapshot.key, data[: len(data) - 100], "application/octet-stream")
    elif spoil == "missing":
        deps.blobs.delete(snapshot.key)
    else:
        deps.blobs.put(snapshot.key, b"42\n" + JUNK, "application/octet-stream")

    cold = _other_known(deps, every)
    all_rows = Spy(monkeypatch, cold.source, "all_rows")
    assert cold.refresh() == 4
    assert len(all_rows.calls) == 1 and cold.number == 6
    writer.refresh()
    _assert_same(cold, writer, _expected(deps))


def _process(deps: ProcessorDeps, data: bytes) -> str:
    job = stored_photo(deps, data)
    handle(decode(encode(job)), deps)
    return job.photo_id


def test_unknown_faces_of_one_person_share_a_cluster_and_an_enrollment_names_only_them(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit_2 = _process(deps, (faces_dir / "kit_harington_2.jpg").read_bytes())
    kit_3 = _process(deps, (faces_dir / "kit_harington_3.jpg").read_bytes())
    biden = _process(deps, (faces_dir / "biden_1.jpg").read_bytes())
    photos = {photo_id: deps.photos.get(photo_id) for photo_id in (kit_2, kit_3, biden)}
    assert all(len(p.faces) == 1 and p.faces[0].person_id is None for p in photos.values())
    cluster = photos[kit_2].faces[0].cluster
    assert cluster and photos[kit_3].faces[0].cluster == cluster
    assert photos[biden].faces[0].cluster not in (None, cluster)
    assert deps.photos.in_cluster(cluster) == sorted([kit_2, kit_3])
    assert deps.photos.in_cluster(photos[biden].faces[0].cluster) == [biden]

    # Another processor's unknown-face index: the three faces, with their clusters.
    other = UnknownFaces(PhotoStore(), _blobs(deps))
    other.refresh()
    encodings = np.stack([from_bytes(photos[p].faces[0].encoding) for p in (kit_2, kit_3, biden)])
    assert [(h.owner, h.slot, h.tag) for h in other.vectors.nearest(encodings)] == [
        (kit_2, 0, cluster), (kit_3, 0, cluster), (biden, 0, photos[biden].faces[0].cluster)]

    # Every way the handlers write a photo's faces (rematch names in one write, else read-change-write).
    writes = [Spy(monkeypatch, deps.photos, name) for name in ("change_faces", "name_faces")
              if hasattr(deps.photos, name)]
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, (faces_dir / "kit_harington_1.jpg").read_bytes(), "image/jpeg")
    deps.people.create(person_id, "Kit Harington", {}, key)
    handle(decode(encode(PersonPhotoAdded(person_id=person_id, photo_key=key))), deps)

    written = [args[0] for spy in writes for args in spy.calls]
    assert biden not in written  # never the third photo: its unknown face is not within tolerance
    assert set(written) == {kit_2, kit_3}
    for photo_id in (kit_2, kit_3):
        face = deps.photos.get(photo_id).faces[0]
        assert face.person_id == person_id and face.cluster is None
        assert face.encoding == photos[photo_id].faces[0].encoding
    assert deps.photos.get(biden).faces == photos[biden].faces
    assert deps.photos.naming(person_id) == sorted([kit_2, kit_3])
    assert deps.photos.in_cluster(cluster) == []
    assert other.refresh() == 2  # the two photos renamed: out of the other's index too
    assert [h.owner for h in other.vectors.nearest(encodings)] == [biden] * 3
    assert len(other.vectors) == 1


def test_an_older_snapshot_is_refused_and_its_object_removed(deps: ProcessorDeps) -> None:
    rng = np.random.default_rng(39)
    _person(deps, _unit(rng, 1))
    behind = _other_known(deps)
    behind.refresh()  # at 1
    _person(deps, _unit(rng, 1))
    ahead = _other_known(deps)
    ahead.refresh()  # at 2
    assert ahead.write_snapshot()
    published = ahead.feed.snapshot()
    assert published.number == 2
    assert not behind.write_snapshot(published)  # older than the one published: refused
    assert not ahead.write_snapshot(published)  # as new: refused too
    assert ahead.feed.snapshot() == published
    assert _keys(deps) == [published.key]  # the refused objects are gone, the published one kept


class _Killed(Exception):
    """Stands in for a kill -9 at that line: nothing after it runs."""


def test_an_enrollment_killed_after_naming_and_before_announcing_is_healed_by_its_redelivery(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit_2 = _process(deps, (faces_dir / "kit_harington_2.jpg").read_bytes())
    kit_3 = _process(deps, (faces_dir / "kit_harington_3.jpg").read_bytes())
    other = UnknownFaces(PhotoStore(), _blobs(deps))
    other.refresh()
    assert len(other.vectors) == 2
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, (faces_dir / "kit_harington_1.jpg").read_bytes(), "image/jpeg")
    deps.people.create(person_id, "Kit Harington", {}, key)
    job = decode(encode(PersonPhotoAdded(person_id=person_id, photo_key=key)))

    def killed(*_: object) -> None:
        raise _Killed()

    # The photos are named, then the process dies before the faces table and the feed hear of it.
    monkeypatch.setattr(deps.photos, "file_faces", killed)
    with pytest.raises(_Killed):
        handle(job, deps)
    assert {deps.photos.get(p).faces[0].person_id for p in (kit_2, kit_3)} == {person_id}
    assert deps.photos.naming(person_id) == sorted([kit_2, kit_3])  # filed under the person before naming
    other.refresh()
    assert len(other.vectors) == 2  # not told: still unknown there

    # SQS delivers the job again (to a fresh processor): the indexes and the faces table are healed.
    monkeypatch.undo()
    fresh = UnknownFaces(PhotoStore(), _blobs(deps))
    fresh.refresh()
    deps.indexes.held["default"] = (deps.indexes.known(), fresh)
    handle(job, deps)
    assert deps.photos.naming(person_id) == sorted([kit_2, kit_3])
    other.refresh()
    assert len(other.vectors) == 0
    assert {deps.photos.get(p).faces[0].person_id for p in (kit_2, kit_3)} == {person_id}


def test_an_enrollment_killed_after_the_names_and_before_the_csvs_writes_them_on_its_redelivery(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [_process(deps, (faces_dir / f"kit_harington_{n}.jpg").read_bytes()) for n in (2, 3)]
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, (faces_dir / "kit_harington_1.jpg").read_bytes(), "image/jpeg")
    deps.people.create(person_id, "Kit Harington", {}, key)
    job = decode(encode(PersonPhotoAdded(person_id=person_id, photo_key=key)))
    results = {p: deps.photos.get(p).results_key or "" for p in photos}
    put = deps.blobs.put

    def dies_at_a_csv(key: str, *args: object, **kwargs: object) -> None:
        if key in results.values():
            raise _Killed()
        put(key, *args, **kwargs)

    # The names are written first (what a user waits for); the process dies at the first CSV after them.
    monkeypatch.setattr(deps.blobs, "put", dies_at_a_csv)
    with pytest.raises(_Killed):
        handle(job, deps)
    assert {deps.photos.get(p).faces[0].person_id for p in photos} == {person_id}
    assert all("Kit Harington" not in deps.blobs.get(results[p]).decode() for p in photos)

    monkeypatch.undo()
    handle(job, deps)  # SQS delivers it again
    assert all("Kit Harington" in deps.blobs.get(results[p]).decode() for p in photos)
