"""Collections, against a real moto server with the real model: each photo is matched only against its
own collection's people, unknown faces cluster within it, an enrollment re-matches only its photos,
names never cross collections, and a deleted collection is erased (finished by a redelivery after a kill)."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photolane_common.collection import CollectionStore
from photolane_common.domain import Photo, UploadLink
from photolane_common.messages import (
    ClusterNamed,
    CollectionDeleted,
    FaceNamed,
    PeopleMerged,
    PersonDeleted,
    PersonPhotoAdded,
    decode,
    encode,
)
from photolane_common.models import SettingModel
from photolane_processor import erasure
from photolane_processor.handlers import ProcessorDeps, handle

from ..conftest import stored_photo


def _run(deps: ProcessorDeps, message: object) -> None:
    handle(decode(encode(message)), deps)


def _collection(collection: str) -> str:
    assert CollectionStore().create(collection, collection.upper(), {}) is not None
    return collection


def _enroll(deps: ProcessorDeps, name: str, data: bytes, collection: str) -> str:
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, data, "image/jpeg")
    deps.people.create(person_id, name, {}, key, collection)
    _run(deps, PersonPhotoAdded(person_id=person_id, photo_key=key))
    return person_id


def _process(deps: ProcessorDeps, data: bytes, collection: str) -> Photo:
    job = stored_photo(deps, data, collection=collection)
    _run(deps, job)
    return deps.photos.get(job.photo_id)


def _names(deps: ProcessorDeps, photo_id: str) -> list[str]:
    photo = deps.photos.get(photo_id)
    people = deps.people.many(f.person_id for f in photo.faces if f.person_id)
    return sorted(people[f.person_id].name if f.person_id else "?" for f in photo.faces)


def test_each_photo_gets_its_own_collections_name_for_the_same_face(deps: ProcessorDeps, faces_dir: Path) -> None:
    a, b = _collection("class-a"), _collection("class-b")
    obama = (faces_dir / "obama_1.jpg").read_bytes()
    in_a = _enroll(deps, "Barack Obama", obama, a)
    in_b = _enroll(deps, "Mr President", obama, b)
    group = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    photo_a, photo_b = _process(deps, group, a), _process(deps, group, b)
    photo_default = _process(deps, group, "default")
    assert _names(deps, photo_a.id) == ["?", "?", "Barack Obama"]
    assert _names(deps, photo_b.id) == ["?", "?", "Mr President"]
    assert _names(deps, photo_default.id) == ["?", "?", "?"]  # nobody enrolled in the default collection
    assert {f.person_id for f in deps.photos.get(photo_a.id).faces} - {None} == {in_a}
    assert {f.person_id for f in deps.photos.get(photo_b.id).faces} - {None} == {in_b}
    assert deps.blobs.get(photo_b.results_key).decode().splitlines()[1].endswith(",class-b")
    # Unknown faces cluster within their collection: the same strangers make clusters of one face in each.
    for collection, unknown in ((a, 2), (b, 2), ("default", 3)):
        clusters, _ = deps.photos.unknown_people(10, collection=collection)
        assert len(clusters) == unknown and all(c.faces == 1 and c.collection == collection for c in clusters)
    # Each collection's index holds only its own.
    assert len(deps.indexes.known(a).vectors) == len(deps.indexes.known(b).vectors) == 1
    assert len(deps.indexes.known().vectors) == 0


def test_an_enrollment_rematches_only_its_own_collections_photos(deps: ProcessorDeps, faces_dir: Path) -> None:
    a, b = _collection("team-a"), _collection("team-b")
    kit_rose = (faces_dir / "group_kit_and_rose.jpg").read_bytes()
    photo_a, photo_b = _process(deps, kit_rose, a), _process(deps, kit_rose, b)
    _enroll(deps, "Kit Harington", (faces_dir / "kit_harington_1.jpg").read_bytes(), a)
    assert _names(deps, photo_a.id) == ["?", "Kit Harington"]
    assert _names(deps, photo_b.id) == ["?", "?"]  # never named from another collection
    kit = deps.people.page_of(a, 10)[0][0]
    assert deps.people.delete(kit.id)
    _run(deps, PersonDeleted(person_id=kit.id, collection=a))
    assert _names(deps, photo_a.id) == ["?", "?"]


def test_names_never_cross_collections(deps: ProcessorDeps, faces_dir: Path) -> None:
    a, b = _collection("fam-a"), _collection("fam-b")
    in_a = _enroll(deps, "Joe Biden", (faces_dir / "biden_1.jpg").read_bytes(), a)
    in_b = _enroll(deps, "Joe B", (faces_dir / "biden_1.jpg").read_bytes(), b)
    photo_b = _process(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes(), b)
    # A job naming a face of B's photo as A's person (the upload service refuses it first): fails, says why.
    key = f"people/{in_a}/face-{photo_b.id}-0.jpg"
    deps.people.add_photo(in_a, key)
    _run(deps, FaceNamed(person_id=in_a, photo_id=photo_b.id, face_index=0, photo_key=key))
    assert _names(deps, photo_b.id) == ["?", "?"]
    assert "never crosses collections" in next(p.error for p in deps.people.get(in_a).photos if p.key == key)
    # A cluster of B named as A's person: nothing named.
    cluster = deps.photos.get(photo_b.id).faces[0].cluster
    key = f"people/{in_a}/cluster-{cluster}.jpg"
    deps.people.add_photo(in_a, key)
    _run(deps, ClusterNamed(person_id=in_a, cluster=cluster, photo_key=key))
    assert _names(deps, photo_b.id) == ["?", "?"]
    # Merging people of two collections: refused, both stay.
    _run(deps, PeopleMerged(person_id=in_a, merged_id=in_b))
    assert deps.people.get(in_b) is not None and len(deps.people.get(in_a).encodings) == 1


def test_a_deleted_collection_is_erased_and_a_redelivery_finishes_a_killed_erasure(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone, kept = _collection("gone"), _collection("kept")
    person = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes(), gone)
    group = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    photos = [_process(deps, group, gone) for _ in range(2)]
    other = _process(deps, group, kept)
    for mirror in (deps.indexes.known(gone), deps.indexes.unknown(gone)):
        assert mirror.write_snapshot()
    link = UploadLink("l1", "ab" * 32, "", datetime.now(UTC))
    CollectionStore().add_link(gone, link)
    SettingModel(f"upload-link:{link.hash}", value={"collection": gone}).save()
    assert CollectionStore().mark_deleting(gone) is not None

    # Killed after the first photo is erased.
    erased = erasure._erase_photo
    calls = []

    def dies(photo: Photo, d: ProcessorDeps) -> None:
        if calls:
            raise SystemExit("killed")
        calls.append(photo.id)
        erased(photo, d)

    monkeypatch.setattr(erasure, "_erase_photo", dies)
    with pytest.raises(SystemExit):
        _run(deps, CollectionDeleted(collection=gone))
    assert CollectionStore().get(gone) is not None  # the record goes last
    monkeypatch.undo()
    _run(deps, CollectionDeleted(collection=gone))  # SQS delivers it again

    assert CollectionStore().get(gone) is None
    assert deps.people.get(person) is None and all(deps.photos.get(p.id) is None for p in photos)
    keys = [o["Key"] for o in deps.blobs.s3.list_objects_v2(Bucket=deps.blobs.bucket).get("Contents", [])]
    assert not [k for k in keys if person in k or any(p.id in k for p in photos) or "@gone" in k]
    assert deps.photos.unknown_people(10, collection=gone)[0] == []
    assert deps.photos.faces_of(f"person:{person}")[0] == []
    assert SettingModel.count(f"upload-link:{link.hash}") == 0
    # The other collection is untouched.
    assert _names(deps, other.id) == ["?", "?", "?"] and len(deps.photos.unknown_people(10, collection=kept)[0]) == 3
    _run(deps, CollectionDeleted(collection=gone))  # a third delivery: nothing left to do, no error
