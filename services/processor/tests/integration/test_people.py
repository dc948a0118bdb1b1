"""Enrollment, re-matching and forgetting, against a real moto server with the real model."""

import io
import uuid
from pathlib import Path

from PIL import Image

from photolane_common.domain import Photo
from photolane_common.messages import PersonDeleted, PersonPhotoAdded, decode, encode
from photolane_processor.handlers import ProcessorDeps, handle

from ..conftest import stored_photo


def _run(deps: ProcessorDeps, message: object) -> None:
    handle(decode(encode(message)), deps)


def _enroll(deps: ProcessorDeps, name: str, data: bytes, attributes: dict | None = None) -> str:
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    deps.blobs.put(key, data, "image/jpeg")
    deps.people.create(person_id, name, attributes or {}, key)
    _run(deps, PersonPhotoAdded(person_id=person_id, photo_key=key))
    return person_id


def _process(deps: ProcessorDeps, data: bytes) -> Photo:
    job = stored_photo(deps, data)
    _run(deps, job)
    return deps.photos.get(job.photo_id)


def _names(deps: ProcessorDeps, photo: Photo) -> list[str]:
    people = deps.people.many(f.person_id for f in photo.faces if f.person_id)
    return sorted(people[f.person_id].name if f.person_id else "?" for f in photo.faces)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def test_enrolled_people_are_named_and_the_stranger_is_not(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes(), {"role": "president"})
    _enroll(deps, "Joe Biden", (faces_dir / "biden_1.jpg").read_bytes())
    person = deps.people.get(obama)
    assert person.status == "enrolled" and len(person.encodings) == 1 and len(person.encodings[0]) == 512
    assert deps.people.version() == 2

    photo = _process(deps, (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes())
    assert _names(deps, photo) == ["?", "Barack Obama", "Joe Biden"]
    csv_text = deps.blobs.get(photo.results_key).decode()
    assert "Barack Obama" in csv_text and "Joe Biden" in csv_text and '""role"": ""president""' in csv_text


def test_enrollment_photo_without_a_face_or_with_two_fails_with_its_reason(deps: ProcessorDeps,
                                                                            faces_dir: Path) -> None:
    landscape = Image.open(faces_dir / "group_obama_biden_and_one_more.jpg").crop((0, 0, 300, 250))
    nobody = _enroll(deps, "Nobody", _jpeg(landscape))
    assert deps.people.get(nobody).status == "failed"
    assert deps.people.get(nobody).error.startswith("no face found in the photo")
    two = _enroll(deps, "Kit", (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    assert deps.people.get(two).error == "2 faces found in the photo; send a photo of this person alone"
    assert deps.people.version() == 0  # no encoding was added


def test_a_photo_processed_before_the_enrollment_is_named_after_it(deps: ProcessorDeps, faces_dir: Path) -> None:
    photo = _process(deps, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
    assert _names(deps, photo) == ["?", "?"]
    _enroll(deps, "Kit Harington", (faces_dir / "kit_harington_1.jpg").read_bytes())
    _enroll(deps, "Rose Leslie", (faces_dir / "rose_leslie_1.jpg").read_bytes())
    named = deps.photos.get(photo.id)
    assert _names(deps, named) == ["Kit Harington", "Rose Leslie"]
    assert [f.box for f in named.faces] == [f.box for f in photo.faces]  # the same faces, not detected again
    assert "Rose Leslie" in deps.blobs.get(named.results_key).decode()
    assert [p.id for p in deps.photos.every_with_unknown_faces()] == []
    deps.indexes.unknown().refresh()
    assert len(deps.indexes.unknown().vectors) == 0  # named: out of the unknown-face index too


def test_the_enrollment_message_twice_enrolls_once(deps: ProcessorDeps, faces_dir: Path) -> None:
    person_id = _enroll(deps, "Joe Biden", (faces_dir / "biden_1.jpg").read_bytes())
    _run(deps, PersonPhotoAdded(person_id=person_id, photo_key=f"people/{person_id}/1.jpg"))
    assert len(deps.people.get(person_id).encodings) == 1
    # Announced again on the redelivery (the first may have died before it): the same rows, once.
    assert deps.people.version() == 2
    deps.indexes.known().refresh()
    assert len(deps.indexes.known().vectors) == 1


def test_a_second_photo_of_a_person_adds_an_encoding(deps: ProcessorDeps, faces_dir: Path) -> None:
    person_id = _enroll(deps, "Kit Harington", (faces_dir / "kit_harington_1.jpg").read_bytes())
    key = f"people/{person_id}/2.jpg"
    deps.blobs.put(key, (faces_dir / "kit_harington_2.jpg").read_bytes(), "image/jpeg")
    deps.people.add_photo(person_id, key)
    assert deps.people.get(person_id).status == "enrolling"
    _run(deps, PersonPhotoAdded(person_id=person_id, photo_key=key))
    person = deps.people.get(person_id)
    assert person.status == "enrolled" and len(person.encodings) == 2


def test_deleting_a_person_un_names_their_faces(deps: ProcessorDeps, faces_dir: Path) -> None:
    obama = _enroll(deps, "Barack Obama", (faces_dir / "obama_1.jpg").read_bytes())
    photo = _process(deps, (faces_dir / "obama_2.jpg").read_bytes())
    assert _names(deps, photo) == ["Barack Obama"]
    assert deps.photos.naming(obama) == [photo.id]
    deps.people.delete(obama)
    deps.people.announce(obama)
    _run(deps, PersonDeleted(person_id=obama))
    after = deps.photos.get(photo.id)
    assert [(f.person_id, f.distance) for f in after.faces] == [(None, None)]
    assert after.faces[0].cluster and deps.photos.in_cluster(after.faces[0].cluster) == [photo.id]
    assert deps.photos.naming(obama) == []
    assert after.faces[0].encoding == photo.faces[0].encoding  # kept for a later enrollment
    assert "Barack Obama" not in deps.blobs.get(after.results_key).decode()
    assert [p.id for p in deps.photos.every_with_unknown_faces()] == [photo.id]
