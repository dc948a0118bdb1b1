"""Names given by an admin (a face, a cluster, a name taken back, a merge), against a real moto server
with the real model; each job also delivered twice, and killed part way."""

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from photolane_common.domain import Person, Photo
from photolane_common.messages import ClusterNamed, FaceNamed, FaceUnnamed, PeopleMerged, PersonPhotoAdded
from photolane_common.models import FaceModel
from photolane_common.photos import _count_again
from photolane_processor import naming
from photolane_processor.handlers import ProcessorDeps

from .test_people import _enroll, _names, _process, _run


def _name_face(deps: ProcessorDeps, photo: Photo, index: int, name: str) -> tuple[str, FaceNamed]:
    """What the upload service does: the person enrolling with the picture to come, then the message."""
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/face-{photo.id}-{index}.jpg"
    deps.people.create(person_id, name, {}, [key])
    job = FaceNamed(person_id=person_id, photo_id=photo.id, face_index=index, photo_key=key,
                    cluster=photo.faces[index].cluster)
    _run(deps, job)
    return person_id, job


def _unknown_index(photo: Photo) -> int:
    return next(i for i, f in enumerate(photo.faces) if f.person_id is None)


def test_each_face_gets_its_picture_and_a_cluster_with_a_summary(deps: ProcessorDeps, faces_dir: Path) -> None:
    photo = _process(deps, (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    assert len(photo.faces) == 3
    for index, face in enumerate(photo.faces):
        assert face.crop == f"faces/{photo.id}/{index}.jpg"
        with Image.open(io.BytesIO(deps.blobs.get(face.crop))) as picture:
            assert picture.format == "JPEG" and max(picture.size) == 160
    clusters, cursor = deps.photos.unknown_people(10)
    assert cursor is None and len(clusters) == 3
    assert {c.cluster for c in clusters} == {f.cluster for f in photo.faces}
    assert all(c.faces == 1 and c.photos == 1 and c.sample == (photo.id,) and c.cover.crop for c in clusters)


def test_naming_a_face_enrolls_from_its_encoding_and_names_an_earlier_photo(deps: ProcessorDeps,
                                                                           faces_dir: Path) -> None:
    earlier = _process(deps, (faces_dir / "obama_1.jpg").read_bytes())
    group = _process(deps, (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    obama_cluster = earlier.faces[0].cluster
    assert deps.photos.cluster(obama_cluster).faces == 2
    index = next(i for i, f in enumerate(group.faces) if f.cluster == obama_cluster)  # same person, one cluster

    person_id, job = _name_face(deps, group, index, "Barack Obama")
    person = deps.people.get(person_id)
    assert person.status == "enrolled" and len(person.encodings) == 1
    assert person.encodings[0] == group.faces[index].encoding
    with Image.open(io.BytesIO(deps.blobs.get(job.photo_key))) as picture:
        assert picture.size == (160, 160)
    group, earlier = deps.photos.get(group.id), deps.photos.get(earlier.id)
    assert group.faces[index].person_id == person_id and group.faces[index].distance == 0.0
    assert earlier.faces[0].person_id == person_id and 0 < earlier.faces[0].distance < 0.6
    assert sorted(deps.photos.naming(person_id)) == sorted([group.id, earlier.id])
    assert obama_cluster not in {c.cluster for c in deps.photos.unknown_people(10)[0]}  # the cluster is empty
    assert "Barack Obama" in deps.blobs.get(earlier.results_key).decode()

    _run(deps, job)  # delivered again: the same, nothing twice
    assert len(deps.people.get(person_id).encodings) == 1
    assert deps.photos.get(group.id).faces == group.faces


def test_naming_a_cluster_names_every_face_in_it(deps: ProcessorDeps, faces_dir: Path) -> None:
    first = _process(deps, (faces_dir / "kit_harington_1.jpg").read_bytes())
    second = _process(deps, (faces_dir / "kit_harington_2.jpg").read_bytes())
    cluster = first.faces[0].cluster
    assert second.faces[0].cluster == cluster
    summary = deps.photos.cluster(cluster)
    assert summary.faces == 2 and summary.photos == 2 and set(summary.sample) == {first.id, second.id}

    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/cluster-{cluster}.jpg"
    deps.people.create(person_id, "Kit Harington", {"role": "actor"}, [key])
    job = ClusterNamed(person_id=person_id, cluster=cluster, photo_key=key)
    _run(deps, job)
    for photo in (first, second):
        assert _names(deps, deps.photos.get(photo.id)) == ["Kit Harington"]
    assert deps.people.get(person_id).status == "enrolled"
    assert deps.photos.cluster(cluster) is None
    _run(deps, job)  # again: nothing changes
    assert len(deps.people.get(person_id).encodings) == 1

    third = _process(deps, (faces_dir / "kit_harington_3.jpg").read_bytes())  # a new photo is named at once
    assert _names(deps, third) == ["Kit Harington"]


def _cluster_named(deps: ProcessorDeps, cluster: str, name: str) -> Person:
    """A new person made from a cluster, as the upload service makes one, and its naming job run."""
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/cluster-{cluster}.jpg"
    deps.people.create(person_id, name, {}, [key])
    _run(deps, ClusterNamed(person_id=person_id, cluster=cluster, photo_key=key))
    found = deps.people.get(person_id)
    assert found is not None
    return found


def test_a_cluster_named_meanwhile_fails_the_new_person_with_a_reason(deps: ProcessorDeps, faces_dir: Path) -> None:
    photo = _process(deps, (faces_dir / "rose_leslie_1.jpg").read_bytes())
    cluster = photo.faces[0].cluster
    _name_face(deps, photo, 0, "Rose")
    person = _cluster_named(deps, cluster, "Rose again")
    assert person.status == "failed" and "no faces left" in person.error


def test_a_hidden_cluster_stays_hidden_as_new_faces_join_it_and_is_never_named_as_a_group(
        deps: ProcessorDeps, faces_dir: Path) -> None:
    first = _process(deps, (faces_dir / "kit_harington_1.jpg").read_bytes())
    cluster = first.faces[0].cluster
    stale = FaceModel.get(f"summary:{cluster}", "-", consistent_read=True)  # as a count read it before the hide
    assert deps.photos.set_hidden(cluster, True).hidden
    _count_again(cluster, read=stale)  # that count writes nothing over the hide: it counts again, hidden
    assert deps.photos.cluster(cluster).hidden

    second = _process(deps, (faces_dir / "kit_harington_2.jpg").read_bytes())  # the same person
    assert second.faces[0].cluster == cluster
    summary = deps.photos.cluster(cluster)
    assert summary.hidden and (summary.faces, summary.photos) == (2, 2)
    assert cluster not in {c.cluster for c in deps.photos.unknown_people(10)[0]}
    assert [c.cluster for c in deps.photos.unknown_people(10, hidden=True)[0]] == [cluster]
    assert deps.photos.hidden_count() == 1

    # A naming queued before the hide names nobody: the new person fails, saying why.
    person = _cluster_named(deps, cluster, "Kit Harington")
    assert person.status == "failed" and "hidden" in person.error
    assert [_names(deps, deps.photos.get(p.id)) for p in (first, second)] == [["?"], ["?"]]

    assert not deps.photos.set_hidden(cluster, False).hidden  # shown again: listed, with both faces
    assert [(c.cluster, c.faces) for c in deps.photos.unknown_people(10)[0]] == [(cluster, 2)]
    assert deps.photos.hidden_count() == 0


def test_a_name_taken_back_is_never_given_again_to_that_face(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes())
    photo = _process(deps, (faces_dir / "obama_2.jpg").read_bytes())
    assert photo.faces[0].person_id == obama
    job = FaceUnnamed(person_id=obama, photo_id=photo.id, face_index=0)
    _run(deps, job)
    face = deps.photos.get(photo.id).faces[0]
    assert face.person_id is None and face.rejected == (obama,) and face.cluster
    assert deps.photos.cluster(face.cluster).faces == 1
    assert photo.id not in deps.photos.naming(obama)
    _run(deps, job)  # again: the same
    assert deps.photos.get(photo.id).faces[0] == face

    # Its cause is gone: Obama's one sample is nearer this face than anything else of his.
    assert deps.people.get(obama).encodings == ()
    key = f"people/{obama}/3.jpg"
    deps.blobs.put(key, (faces_dir / "obama_3.jpg").read_bytes(), "image/jpeg")
    deps.people.add_photo(obama, key)
    _run(deps, PersonPhotoAdded(person_id=obama, photo_key=key))
    assert deps.photos.get(photo.id).faces[0].person_id is None  # the re-match leaves it unknown
    assert deps.photos.get(photo.id).faces[0].suggestion is None  # nor asks

    person_id, _ = _name_face(deps, photo, 0, "Barack H. Obama")  # an admin may still name it by hand
    named = deps.photos.get(photo.id).faces[0]
    assert named.person_id == person_id and named.rejected == (obama,)


def test_taking_back_a_face_that_enrolled_the_person_removes_its_encoding(deps: ProcessorDeps,
                                                                          faces_dir: Path) -> None:
    photo = _process(deps, (faces_dir / "biden_1.jpg").read_bytes())
    person_id, _ = _name_face(deps, photo, 0, "Joe Biden")
    assert len(deps.people.get(person_id).encodings) == 1
    _run(deps, FaceUnnamed(person_id=person_id, photo_id=photo.id, face_index=0))
    assert deps.people.get(person_id).encodings == ()
    later = _process(deps, (faces_dir / "biden_2.jpg").read_bytes())
    assert later.faces[0].person_id is None


def test_merging_two_people_moves_faces_and_encodings_then_deletes_one(deps: ProcessorDeps, faces_dir: Path) -> None:
    rose = _enroll(deps, "Rose", (faces_dir / "rose_leslie_1.jpg").read_bytes())
    leslie = _enroll(deps, "Rose Leslie", (faces_dir / "rose_leslie_2.jpg").read_bytes())
    group = _process(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    asked = {f.suggestion for f in group.faces if f.person_id is None}
    assert asked & {rose, leslie}  # two people alike (0.45 and 0.44 away): no name, a question
    job = PeopleMerged(person_id=leslie, merged_id=rose)
    _run(deps, job)
    assert deps.people.get(rose) is None
    assert len(deps.people.get(leslie).encodings) == 2
    assert rose not in {f.person_id for f in deps.photos.get(group.id).faces}
    assert leslie in {f.person_id for f in deps.photos.get(group.id).faces}
    assert deps.photos.naming(rose) == []
    _run(deps, job)  # again, after the merged person is gone: nothing changes
    assert len(deps.people.get(leslie).encodings) == 2


@pytest.mark.parametrize("dies_in", ["change_faces", "_written"])
def test_a_naming_killed_part_way_is_finished_by_its_redelivery(deps: ProcessorDeps, faces_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch, dies_in: str) -> None:
    earlier = _process(deps, (faces_dir / "alex_lacamoire_1.jpg").read_bytes())
    photo = _process(deps, (faces_dir / "alex_lacamoire_3.jpg").read_bytes())
    cluster = photo.faces[0].cluster

    class Killed(BaseException):
        pass

    def die(*args: object, **kwargs: object) -> None:
        raise Killed()

    target = (deps.photos, "change_faces") if dies_in == "change_faces" else (naming.core, "_written")
    with monkeypatch.context() as patched:
        patched.setattr(*target, die)
        with pytest.raises(Killed):
            person_id, job = _name_face(deps, photo, 0, "Alex Lacamoire")
    person = next(p for p in deps.people.every() if p.name == "Alex Lacamoire")
    job = FaceNamed(person_id=person.id, photo_id=photo.id, face_index=0, photo_key=person.photos[0].key,
                    cluster=cluster)
    _run(deps, job)  # the redelivery
    assert _names(deps, deps.photos.get(photo.id)) == ["Alex Lacamoire"]
    assert _names(deps, deps.photos.get(earlier.id)) == ["Alex Lacamoire"]
    assert deps.photos.cluster(cluster) is None
    assert len(deps.people.get(person.id).encodings) == 1


class _Killed(BaseException):
    """The process dying at that line (BaseException: no handler of ours catches it)."""


def _dies(*args: object, **kwargs: object) -> None:
    raise _Killed()


@pytest.mark.parametrize("dies_in", ["file_named", "change_faces", "_written", "rematch"])
def test_a_cluster_naming_killed_part_way_is_finished_by_its_redelivery(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch, dies_in: str) -> None:
    photos = [_process(deps, (faces_dir / f"kit_harington_{n}.jpg").read_bytes()) for n in (1, 2)]
    cluster = photos[0].faces[0].cluster
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/cluster-{cluster}.jpg"
    deps.people.create(person_id, "Kit Harington", {}, [key])
    job = ClusterNamed(person_id=person_id, cluster=cluster, photo_key=key)
    target = (naming.core, dies_in) if dies_in in ("_written", "rematch") else (deps.photos, dies_in)
    with monkeypatch.context() as patched:
        patched.setattr(*target, _dies)
        with pytest.raises(_Killed):
            _run(deps, job)
    _run(deps, job)  # the redelivery
    for photo in photos:
        assert _names(deps, deps.photos.get(photo.id)) == ["Kit Harington"]
    assert deps.photos.cluster(cluster) is None and deps.photos.faces_of(f"cluster:{cluster}")[0] == []
    assert sorted(deps.photos.naming(person_id)) == sorted(p.id for p in photos)
    assert len(deps.people.get(person_id).encodings) == 1


@pytest.mark.parametrize("dies_in", ["take_photos", "change_faces", "delete"])
def test_a_merge_killed_part_way_is_finished_by_its_redelivery(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch, dies_in: str) -> None:
    rose = _enroll(deps, "Rose", (faces_dir / "rose_leslie_1.jpg").read_bytes())
    leslie = _enroll(deps, "Rose Leslie", (faces_dir / "rose_leslie_2.jpg").read_bytes())
    photo = _process(deps, (faces_dir / "rose_leslie_1.jpg").read_bytes())
    assert photo.faces[0].person_id == rose  # her own enrollment photo: nearest to Rose
    job = PeopleMerged(person_id=leslie, merged_id=rose)
    target = (deps.photos, dies_in) if dies_in == "change_faces" else (deps.people, dies_in)
    with monkeypatch.context() as patched:
        patched.setattr(*target, _dies)
        with pytest.raises(_Killed):
            _run(deps, job)
    _run(deps, job)  # the redelivery
    assert deps.people.get(rose) is None
    assert len(deps.people.get(leslie).encodings) == 2  # once each, not twice
    assert _names(deps, deps.photos.get(photo.id)) == ["Rose Leslie"]
    assert deps.photos.naming(rose) == [] and deps.photos.naming(leslie) == [photo.id]


def _child_named_joe_biden(deps: ProcessorDeps, faces_dir: Path) -> tuple[str, Photo, Photo]:
    """The issue's case: an admin names a child "Joe Biden" in one photo; the same child in another
    photo is then named Joe Biden by the policy (the child here: Alex Lacamoire's two photos)."""
    first = _process(deps, (faces_dir / "alex_lacamoire_1.jpg").read_bytes())
    second = _process(deps, (faces_dir / "alex_lacamoire_3.jpg").read_bytes())
    biden, _ = _name_face(deps, first, 0, "Joe Biden")
    named = deps.photos.get(second.id).faces[0]
    assert named.person_id == biden and named.named_by == "match"
    assert deps.photos.get(first.id).faces[0].named_by == "admin"
    sample = deps.people.get(biden).photos[0]
    assert sample.source == f"{first.id}#0"  # where the sample came from: the provenance of the match
    return biden, first, second


def test_not_joe_biden_removes_the_sample_that_caused_it_and_undoes_every_name_it_gave(
        deps: ProcessorDeps, faces_dir: Path) -> None:
    biden, first, second = _child_named_joe_biden(deps, faces_dir)
    job = FaceUnnamed(person_id=biden, photo_id=second.id, face_index=0)
    _run(deps, job)
    for photo in (first, second):
        face = deps.photos.get(photo.id).faces[0]
        assert face.person_id is None and face.rejected == (biden,) and face.cluster, photo.filename
    assert deps.people.get(biden).encodings == ()  # the child's sample is gone
    assert deps.photos.naming(biden) == []
    assert "Joe Biden" not in deps.blobs.get(deps.photos.get(first.id).results_key).decode()
    _run(deps, job)  # again: the same
    assert deps.people.get(biden).encodings == ()
    # The child again, in a new photo: never Joe Biden again.
    again = _process(deps, (faces_dir / "alex_lacamoire_3.jpg").read_bytes())
    assert again.faces[0].person_id is None and again.faces[0].suggestion is None


@pytest.mark.parametrize("dies_in", ["change_faces", "remove_photo", "recheck"])
def test_a_correction_killed_part_way_is_finished_by_its_redelivery(
        deps: ProcessorDeps, faces_dir: Path, monkeypatch: pytest.MonkeyPatch, dies_in: str) -> None:
    biden, first, second = _child_named_joe_biden(deps, faces_dir)

    class Killed(BaseException):
        pass

    calls = {"n": 0}

    def die(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if dies_in != "change_faces" or calls["n"] == 2:  # change_faces: the second face's change
            raise Killed()
        return original(*args, **kwargs)

    target = {"change_faces": deps.photos, "remove_photo": deps.people, "recheck": naming.core}[dies_in]
    original = getattr(target, dies_in)
    job = FaceUnnamed(person_id=biden, photo_id=second.id, face_index=0)
    with monkeypatch.context() as patched:
        patched.setattr(target, dies_in, die)
        with pytest.raises(Killed):
            _run(deps, job)
    _run(deps, job)  # SQS delivers it again
    for photo in (first, second):
        face = deps.photos.get(photo.id).faces[0]
        assert face.person_id is None and face.rejected == (biden,)
    assert deps.people.get(biden).encodings == ()
    assert deps.photos.naming(biden) == []


def test_a_suggestion_answered_no_then_not_the_next_one_leaves_nobody_to_ask(deps: ProcessorDeps,
                                                                           faces_dir: Path) -> None:
    rose = _enroll(deps, "Rose", (faces_dir / "rose_leslie_1.jpg").read_bytes())
    leslie = _enroll(deps, "Rose Leslie", (faces_dir / "rose_leslie_2.jpg").read_bytes())
    group = _process(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    index = next(i for i, f in enumerate(group.faces) if f.suggestion in (rose, leslie))
    face = group.faces[index]
    assert face.person_id is None and 0 < face.suggestion_distance < 0.6  # two alike: a question
    assert "Rose" not in deps.blobs.get(group.results_key).decode()  # results carry names only
    asked = face.suggestion
    other = ({rose, leslie} - {asked}).pop()

    # "No": decided again without her; the other is then sure (nobody else near): named by the policy.
    job = FaceUnnamed(person_id=asked, photo_id=group.id, face_index=index, suggestion=True)
    _run(deps, job)
    after = deps.photos.get(group.id).faces[index]
    assert after.person_id == other and after.named_by == "match" and after.rejected == (asked,)
    assert len(deps.people.get(asked).encodings) == 1  # a suggestion rejected removes nothing
    _run(deps, job)  # again: the same
    assert deps.photos.get(group.id).faces[index] == after
    assert other in {f.person_id for f in deps.photos.get(group.id).faces}
    assert "Rose" in deps.blobs.get(group.results_key).decode()

    # "Not <the other>": unknown, both rejected, nobody left to ask; the other's one sample, which alone
    # named the face (0.44 from it, nothing else of theirs to be nearer), goes with it.
    _run(deps, FaceUnnamed(person_id=other, photo_id=group.id, face_index=index))
    last = deps.photos.get(group.id).faces[index]
    assert last.person_id is None and set(last.rejected) == {rose, leslie} and last.suggestion is None
    assert deps.people.get(other).encodings == () and len(deps.people.get(asked).encodings) == 1
    # Enrolling either again does not bring the name or the question back.
    _run(deps, PersonPhotoAdded(person_id=asked, photo_key=deps.people.get(asked).photos[0].key))
    again = deps.photos.get(group.id).faces[index]
    assert again.person_id is None and again.suggestion is None


def test_the_owners_not_takes_back_only_what_their_photo_gave(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes())  # by the admin
    photo = _process(deps, (faces_dir / "obama_2.jpg").read_bytes())
    assert photo.faces[0].person_id == obama
    _run(deps, FaceUnnamed(person_id=obama, photo_id=photo.id, face_index=0, by="owner"))
    face = deps.photos.get(photo.id).faces[0]
    assert face.person_id is None and face.rejected == (obama,)
    assert len(deps.people.get(obama).encodings) == 1  # an uploader cannot erase an enrollment
