"""Naming faces: a face, a cluster of unknown faces, a wrong name taken back, two people merged.

The upload service checks the request and records what it can at once (the person, enrolling); the
processor does the rest from one message (encodings, the photos' faces, the re-match), so a process
killed at any line leaves a message that finishes the work.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from photolane_common.cursors import BadCursor
from photolane_common.domain import DEFAULT_COLLECTION, ERASING, PROCESSED, Person, PersonPhoto, Photo
from photolane_common.messages import ClusterNamed, FaceNamed, FaceUnnamed, PeopleMerged
from photolane_common.photos import ClusterSummary

from .handlers import QueueUnavailable, UploadDeps, person_view
from .validation import InvalidUpload, person_attributes, person_name

log = logging.getLogger("photolane.upload.faces")

MAX_PAGE = 100  # clusters, people or photos in one page
MAX_ID = 64


@dataclass(frozen=True)
class Who:
    """Whom a face is: a person that exists (``person_id``), or a new one (``name`` and ``attributes``)."""

    person_id: str | None = None
    name: str | None = None
    attributes: dict[str, object] | None = None


def parse_who(body: Any) -> Who:
    """``{"name": ..., "attributes": {...}}`` or ``{"person_id": ...}`` (raises InvalidUpload)."""
    if not isinstance(body, dict):
        raise InvalidUpload('send a JSON object: {"name": "Ada", "attributes": {...}} or {"person_id": "..."}')
    if body.get("person_id") is not None:
        if not isinstance(body["person_id"], str) or not body["person_id"].strip():
            raise InvalidUpload("person_id must be the id of an enrolled person")
        if body.get("name") is not None:
            raise InvalidUpload("send either person_id (an existing person) or name (a new one), not both")
        return Who(person_id=body["person_id"].strip())
    raw = body.get("attributes")
    if raw is not None and not isinstance(raw, dict | str):
        raise InvalidUpload('attributes must be a JSON object, e.g. {"role": "student"}')
    attributes = person_attributes(raw if isinstance(raw, str) or raw is None else json.dumps(raw))
    if body.get("name") is not None and not isinstance(body["name"], str):
        raise InvalidUpload("name must be a string")
    return Who(name=person_name(body.get("name")), attributes=attributes)


def faces_mark(faces: Any) -> str:
    """A short fingerprint of who a photo's faces are (the photo page polls until it changes):
    FNV-1a (32 bits) of the person ids, "-" for an unknown face ("?<id>" when it has a suggestion),
    joined by ","; faces.js computes the same from the API's answer."""
    text = ",".join(f["person"]["id"] if f.get("person") else
                    f"?{f['suggestion']['id']}" if f.get("suggestion") else "-" for f in faces)
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


def photo_mark(photo: Photo) -> str:
    """``faces_mark`` of a photo's record."""
    return faces_mark([{"person": {"id": f.person_id} if f.person_id else None,
                        "suggestion": {"id": f.suggestion} if f.suggestion else None} for f in photo.faces])


def _person(person_id: str, deps: UploadDeps) -> Person:
    person = deps.people.get(person_id) if len(person_id) <= MAX_ID else None
    if person is None:
        raise InvalidUpload(f"no person {person_id[:MAX_ID]}", 404)
    return person


def _face_of(photo_id: str, index: int, deps: UploadDeps) -> Photo:
    photo = deps.photos.get(photo_id) if len(photo_id) <= MAX_ID else None
    if photo is None:
        raise InvalidUpload(f"no photo {photo_id[:MAX_ID]}", 404)
    if photo.status != PROCESSED:
        raise InvalidUpload(f"the photo is {photo.status}: its faces can be named once it is processed", 409)
    if not 0 <= index < len(photo.faces):
        count = len(photo.faces)
        raise InvalidUpload(f"no face {index} in this photo: it has {count} face{'' if count == 1 else 's'}"
                            + (f" (0 to {count - 1})" if count else ""), 404)
    if photo.faces[index].encoding is None:
        raise InvalidUpload("this face has no stored encoding (processed by an older version): "
                            "enroll the person from a photo instead", 409)
    return photo


def _enrolling(who: Who, key_of: str, collection: str, deps: UploadDeps) -> tuple[Person, str]:
    """The person (new in the collection, or the one named: of the same collection) with the picture to
    come on them as enrolling, and its key."""
    if who.person_id is not None:
        person = _person(who.person_id, deps)
        _same_collection(person, collection)
        key = f"people/{person.id}/{key_of}.jpg"
        if all(p.key != key for p in person.photos):
            person = deps.people.add_photo(person.id, key) or person
        return person, key
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/{key_of}.jpg"
    assert who.name is not None
    person = deps.people.create(person_id, who.name, who.attributes or {}, [key], collection)
    log.info("person.created", extra={"person_id": person_id, "from": key_of})
    return person, key


def _same_collection(person: Person, collection: str) -> None:
    if person.collection != collection:
        raise InvalidUpload(f"{person.name} is in collection {person.collection!r} and this is in {collection!r}: "
                            "names never cross collections (enroll them in this one too)", 409)


def _send(message: Any, person_id: str, key: str | None, deps: UploadDeps) -> None:
    try:
        deps.jobs.send(message)
    except Exception as exc:
        log.exception("person.queue_failed", extra={"person_id": person_id})
        if key is not None:
            deps.people.photo_failed(person_id, key, "the naming could not be queued; name the face again")
        raise QueueUnavailable() from exc


def name_face(photo_id: str, index: int, who: Who, deps: UploadDeps, by: str = "admin") -> Person:
    """This face is this person: enrolled from its encoding, then every matching photo re-named."""
    photo = _face_of(photo_id, index, deps)
    face = photo.faces[index]
    if who.person_id is not None and face.person_id == who.person_id:
        return _person(who.person_id, deps)  # named so already
    person, key = _enrolling(who, f"face-{photo.id}-{index}", photo.collection, deps)
    _send(FaceNamed(person_id=person.id, photo_id=photo.id, face_index=index, photo_key=key, cluster=face.cluster,
                    by=by), person.id, key, deps)
    log.info("face.named", extra={"photo_id": photo.id, "face": index, "person_id": person.id})
    return person


def name_cluster(cluster: str, who: Who, deps: UploadDeps) -> Person:
    """Every face of this cluster of unknown faces is this person."""
    summary = deps.photos.cluster(cluster) if len(cluster) <= MAX_ID else None
    if summary is None:
        raise InvalidUpload(f"no unknown person {cluster[:MAX_ID]} (named already, or the link is old)", 404)
    if summary.hidden:
        raise InvalidUpload("that unknown person is hidden: show them again, then name them", 409)
    person, key = _enrolling(who, f"cluster-{cluster}", summary.collection, deps)
    _send(ClusterNamed(person_id=person.id, cluster=cluster, photo_key=key), person.id, key, deps)
    log.info("cluster.named", extra={"cluster": cluster, "person_id": person.id, "faces": summary.faces})
    return person


def hide_cluster(cluster: str, hidden: bool, deps: UploadDeps) -> dict[str, Any]:
    """Hide a cluster of unknown faces ("not someone I care about"), or show it again; reversible, so
    asked once. Its view as the API shows it."""
    summary = deps.photos.set_hidden(cluster, hidden) if len(cluster) <= MAX_ID else None
    if summary is None:
        raise InvalidUpload(f"no unknown person {cluster[:MAX_ID]} (named already, or the link is old)", 404)
    log.info("cluster.hidden" if hidden else "cluster.shown", extra={"cluster": cluster, "faces": summary.faces})
    return cluster_view(summary, deps)


def unname_face(photo_id: str, index: int, deps: UploadDeps, by: str = "admin") -> str:
    """The face is not the person it is named: unknown again, never matched to them again. Returns who."""
    photo = _face_of(photo_id, index, deps)
    person_id = photo.faces[index].person_id
    if person_id is None:
        raise InvalidUpload(f"face {index} of this photo is not named", 409)
    _send(FaceUnnamed(person_id=person_id, photo_id=photo.id, face_index=index, by=by), person_id, None, deps)
    log.info("face.unnamed", extra={"photo_id": photo.id, "face": index, "person_id": person_id})
    return person_id


def _suggested(photo_id: str, index: int, deps: UploadDeps) -> tuple[Photo, str]:
    photo = _face_of(photo_id, index, deps)
    face = photo.faces[index]
    if face.person_id is not None or face.suggestion is None:
        raise InvalidUpload(f"face {index} of this photo has no suggestion"
                            + (" (it is named)" if face.person_id else ""), 409)
    return photo, face.suggestion


def confirm_suggestion(photo_id: str, index: int, deps: UploadDeps, by: str = "admin") -> Person:
    """The face is the person suggested: named so, and its encoding one more sample of theirs."""
    _, person_id = _suggested(photo_id, index, deps)
    return name_face(photo_id, index, Who(person_id=person_id), deps, by=by)


def reject_suggestion(photo_id: str, index: int, deps: UploadDeps) -> str:
    """The face is not the person suggested: never suggested or named them again. Returns who."""
    photo, person_id = _suggested(photo_id, index, deps)
    _send(FaceUnnamed(person_id=person_id, photo_id=photo.id, face_index=index, suggestion=True), person_id, None,
          deps)
    log.info("suggestion.rejected", extra={"photo_id": photo.id, "face": index, "person_id": person_id})
    return person_id


def merge_people(person_id: str, merged_id: Any, deps: UploadDeps) -> Person:
    """``merged_id`` is the same person as ``person_id``: one record remains, with both's faces."""
    if not isinstance(merged_id, str) or not merged_id.strip():
        raise InvalidUpload('send {"person_id": "<the id of the person to merge into this one>"}')
    if merged_id == person_id:
        raise InvalidUpload("a person cannot be merged with themselves")
    person, merged = _person(person_id, deps), _person(merged_id, deps)
    _same_collection(merged, person.collection)
    _send(PeopleMerged(person_id=person.id, merged_id=merged.id), person.id, None, deps)
    log.info("person.merging", extra={"person_id": person.id, "merged_id": merged.id})
    return person


def edit_person(person_id: str, body: Any, deps: UploadDeps) -> Person:
    """A new name and/or attributes."""
    if not isinstance(body, dict) or not ({"name", "attributes"} & body.keys()):
        raise InvalidUpload('send a JSON object with "name" and/or "attributes"')
    if "name" in body and not isinstance(body["name"], str):
        raise InvalidUpload("name must be a string")
    name = person_name(body["name"]) if "name" in body else None
    raw = body.get("attributes")
    attributes = None
    if "attributes" in body:
        if raw is not None and not isinstance(raw, dict | str):
            raise InvalidUpload('attributes must be a JSON object, e.g. {"role": "student"}')
        attributes = person_attributes(raw if isinstance(raw, str) or raw is None else json.dumps(raw))
    person = deps.people.update(person_id, name, attributes) if len(person_id) <= MAX_ID else None
    if person is None:
        raise InvalidUpload(f"no person {person_id[:MAX_ID]}", 404)
    deps.people.announce(person.id)  # pages that cache names (the gallery) read them again
    return person


# -- pages of things -------------------------------------------------------------------------------
def page_size(raw: str | None, default: int = 24) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidUpload(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def unknown_people(limit: int, cursor: str | None, deps: UploadDeps,
                   collection: str = DEFAULT_COLLECTION, hidden: bool = False) -> dict[str, Any]:
    """A collection's clusters of unknown faces (or its hidden ones), most faces first."""
    try:
        page, after = deps.photos.unknown_people(limit, cursor, collection, hidden)
    except BadCursor as exc:
        raise InvalidUpload("cursor is not one this service gave (use the 'next' of the page before)") from exc
    return {"clusters": [cluster_view(c, deps) for c in page], "next": after}


def cluster_view(summary: ClusterSummary, deps: UploadDeps) -> dict[str, Any]:
    crop = summary.cover.crop if summary.cover else None
    return {
        "id": summary.cluster,
        "collection": summary.collection,
        "faces": summary.faces,
        "photos": summary.photos,
        "photo_ids": list(summary.sample),
        "crop_url": deps.blobs.url(crop, deps.settings.presign_seconds),
        "cover": {"photo_id": summary.cover.photo_id, "index": summary.cover.index} if summary.cover else None,
        "url": f"/api/faces/unknown/{summary.cluster}",
        "hidden": summary.hidden,
    }


def photo_labels(clusters: list[dict[str, Any]], deps: UploadDeps) -> dict[str, dict[str, str]]:
    """What the links to the clusters' sample photos read: each photo's file name and when it came."""
    photos = deps.photos.many(pid for cluster in clusters for pid in cluster["photo_ids"])
    return {p.id: {"name": p.filename or "a photo", "at": p.created_at.isoformat(timespec="seconds")}
            for p in photos.values()}


def person_photos(person_id: str, limit: int, cursor: str | None, deps: UploadDeps) -> dict[str, Any]:
    """The photos a person is named in (checked against each record), a page at a time."""
    person = _person(person_id, deps)
    try:
        refs, after = deps.photos.faces_of(f"person:{person.id}", limit, cursor)
    except BadCursor as exc:
        raise InvalidUpload("cursor is not one this service gave (use the 'next' of the page before)") from exc
    photos = deps.photos.many(r.photo_id for r in refs)
    url = lambda key: deps.blobs.url(key, deps.settings.presign_seconds)  # noqa: E731
    faces = []
    for ref in refs:
        photo = photos.get(ref.photo_id)
        if photo is None or photo.status == ERASING:
            continue  # deleted: being erased
        if ref.index >= len(photo.faces) or photo.faces[ref.index].person_id != person.id:
            continue  # a stale pointer (its writer died between two writes): the record is the truth
        face = photo.faces[ref.index]
        faces.append({"photo_id": photo.id, "index": ref.index, "box": list(face.box),
                      "crop_url": url(face.crop), "thumbnail_url": url(photo.thumbnail_key),
                      "filename": photo.filename, "created_at": photo.created_at.isoformat(),
                      "page": f"/photos/{photo.id}", "named_by": face.named_by, "distance": face.distance})
    return {"person": person_view(person, deps), "faces": faces, "next": after}


def person_summary(person: Person, deps: UploadDeps) -> dict[str, Any]:
    """A person with their picture and how many faces are named them (one count query)."""
    view = person_view(person, deps)
    picture = next((p for p in person.photos if p.status == "enrolled"), None) or \
        next(iter(person.photos), PersonPhoto("", ""))
    view["picture_url"] = deps.blobs.url(picture.key, deps.settings.presign_seconds) if picture.key else None
    view["faces"] = deps.photos.count_of(f"person:{person.id}")
    return view
