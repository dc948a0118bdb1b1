"""Names given by an admin: a face, a cluster of unknown faces, a name taken back, two people merged.

Each job is idempotent, so a redelivery after a kill at any line finishes it: the person's picture and
encoding are written once (the enrollment photo's status says whether), faces are filed under the
person before they are named (``file_named``), and a redelivery heals what a dead run left unfiled
or unannounced, then re-matches the past with the person's encodings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from photolane_common.aws import MissingObject
from photolane_common.domain import DEFAULT_COLLECTION, ENROLLED, ENROLLING, Face, Person, PersonPhoto, Photo
from photolane_common.logs import photo_context
from photolane_common.messages import ClusterNamed, FaceNamed, FaceUnnamed, PeopleMerged
from photolane_common.photos import FaceRef

from . import handlers as core
from .imaging import UnreadableImage, face_picture, open_oriented
from .matching import from_bytes
from .policy import template

if TYPE_CHECKING:
    from .handlers import ProcessorDeps

log = logging.getLogger("photolane.processor.naming")

Job = FaceNamed | ClusterNamed | FaceUnnamed | PeopleMerged


def handle(job: Job, deps: ProcessorDeps) -> None:
    if isinstance(job, FaceNamed):
        name_face(job, deps)
    elif isinstance(job, ClusterNamed):
        name_cluster(job, deps)
    elif isinstance(job, FaceUnnamed):
        unname_face(job, deps)
    else:
        merge(job, deps)


def name_face(job: FaceNamed, deps: ProcessorDeps) -> None:
    """One face is this person: its encoding enrolls them, the face is named, the past re-matched."""
    person = _enrolling(job.person_id, job.photo_key, deps)
    if person is None:
        return
    photo = deps.photos.get(job.photo_id)
    face = photo.faces[job.face_index] if photo and job.face_index < len(photo.faces) else None
    if photo is None or face is None or face.encoding is None:
        _failed(person, job.photo_key, "the photo or its face is gone", deps)
        return
    if photo.collection != person.collection:
        _failed(person, job.photo_key, f"the photo is in collection {photo.collection!r}, the person in "
                f"{person.collection!r}: a name never crosses collections", deps)
        return
    if not _enrolled_from(person, job.photo_key, photo, job.face_index, deps):
        return
    _assign(person.id, {photo.id: [job.face_index]}, lambda f: True, deps, by=job.by)
    if job.cluster:
        _in_cluster(job.cluster, deps)  # its pointer there, if a dead run left it
    core.rematch(person.id, deps)


def name_cluster(job: ClusterNamed, deps: ProcessorDeps) -> None:
    """Every face of a cluster of unknown faces is this person (the cover face enrolls them)."""
    person = _enrolling(job.person_id, job.photo_key, deps)
    if person is None:
        return
    live, photos = _in_cluster(job.cluster, deps)
    live = [r for r in live if photos[r.photo_id].collection == person.collection]  # never across collections
    entry = next(p for p in person.photos if p.key == job.photo_key)
    if entry.status == ENROLLING and not live:
        _failed(person, job.photo_key, "that unknown person has no faces left (named meanwhile)", deps)
        return
    summary = deps.photos.cluster(job.cluster)
    if summary is not None and summary.hidden and entry.status == ENROLLING:  # hidden after it was named
        _failed(person, job.photo_key, "that unknown person is hidden: show them again, then name them", deps)
        return
    cover = next((r for r in live if summary and summary.cover and (r.photo_id, r.index) ==
                  (summary.cover.photo_id, summary.cover.index)), live[0] if live else None)
    if cover is not None and not _enrolled_from(person, job.photo_key, photos[cover.photo_id], cover.index, deps):
        return
    if cover is None:  # a redelivery: named already; heal what the first run may have left
        deps.people.announce(person.id, person.collection)
        core._heal(person.id, deps)
    faces: dict[str, list[int]] = {}
    for ref in live:
        faces.setdefault(ref.photo_id, []).append(ref.index)
    named = _assign(person.id, faces, lambda f: f.person_id is None and f.cluster == job.cluster, deps)
    log.info("cluster.named", extra={"cluster": job.cluster, "person_id": person.id, "photos": named})
    core.rematch(person.id, deps)


def unname_face(job: FaceUnnamed, deps: ProcessorDeps) -> None:
    """The face is not this person: unknown again (in a cluster again), never named or suggested them
    again. Its cause goes too: the person's samples that made this face theirs (taken from this face,
    or so near it that they are this face's person, not theirs) are removed, the faces they were taken
    from are not this person either, and every face the policy named them is decided again.

    A face only suggested to be them loses the suggestion (nothing of theirs named it).
    Each step is idempotent, in an order a redelivery can finish: the faces first, then the samples.
    """
    index = job.face_index
    before = deps.photos.get(job.photo_id)
    collection = before.collection if before else DEFAULT_COLLECTION
    known = deps.indexes.known(collection)
    deps.indexes.unknown(collection).refresh()
    known.refresh()
    _not_theirs(job.photo_id, index, job.person_id, deps, first=before)
    person = deps.people.get(job.person_id)
    if person is None or job.suggestion or before is None or index >= len(before.faces):
        deps.people.announce(job.person_id, person.collection if person else collection)
        log.info("face.unnamed", extra={"photo_id": job.photo_id, "face": index, "person_id": job.person_id})
        return
    # A sample alone naming the face (within the tolerance), or at least as near as one person's faces.
    radius = max(deps.settings.cluster_radius, deps.settings.naming.tolerance(len(known.vectors)))
    causes = _causes(person, job.photo_id, index, before.faces[index].encoding, radius)
    if job.by == "owner":  # an uploader never erases what the admin enrolled: only what their photo gave
        causes = [s for s in causes if s.source and s.source.partition("#")[0] == job.photo_id]
    for sample in causes:
        if sample.source and sample.source != f"{job.photo_id}#{index}":
            photo_id, _, face = sample.source.rpartition("#")
            _not_theirs(photo_id, int(face), person.id, deps)
    if causes:
        deps.people.remove_photo(person.id, *(s.key for s in causes))
    deps.people.announce(person.id, person.collection)
    core.recheck(person.id, person.collection, deps)
    log.info("face.unnamed", extra={"photo_id": job.photo_id, "face": index, "person_id": person.id,
                                    "samples_removed": len(causes)})


def _causes(person: Person, photo_id: str, index: int, encoding: bytes | None, radius: float) -> list[PersonPhoto]:
    """The person's samples that made this face theirs: the one taken from it, and any that is this
    face's person rather than theirs: within ``radius`` of it, and nearer it than the template of the
    person's other samples (a good sample of somebody who merely looks alike stays)."""
    face = from_bytes(encoding) if encoding else None
    samples = [s for s in person.photos if s.encoding is not None]

    def near_face(sample: PersonPhoto) -> bool:
        if face is None or sample.encoding is None:
            return False
        mine = from_bytes(sample.encoding)
        to_face = float(np.linalg.norm(mine - face))
        others = [from_bytes(o.encoding) for o in samples if o is not sample and o.encoding is not None]
        return to_face <= radius and (not others or to_face < float(np.linalg.norm(mine - template(others))))

    return [s for s in person.photos if s.source == f"{photo_id}#{index}"
            or s.key == f"people/{person.id}/face-{photo_id}-{index}.jpg" or near_face(s)]


def _not_theirs(photo_id: str, index: int, person_id: str, deps: ProcessorDeps, first: Photo | None = None) -> None:
    """One face is not this person: un-named (unknown again, in a cluster again) if it was, its
    suggestion gone if it was them, and marked so they are never named or suggested again."""

    def changed(photo: Photo) -> tuple[Face, ...] | None:
        if index >= len(photo.faces):
            return None
        faces, face = list(photo.faces), photo.faces[index]
        if face.person_id is None and face.suggestion == person_id:
            face = replace(face, suggestion=None, suggestion_distance=None, rejected=_with(face.rejected, person_id))
        elif face.person_id == person_id:
            face = replace(face, person_id=None, distance=None, cluster=None, rejected=_with(face.rejected, person_id),
                           suggestion=None, suggestion_distance=None, named_by=None)
        else:
            return None
        faces[index] = _without(face, person_id, photo.collection, deps)
        return core._clustered(photo, tuple(faces), deps, only={index} if faces[index].person_id is None else set(),
                               refresh=False)

    before = first or deps.photos.get(photo_id)
    with photo_context(photo_id):
        written = deps.photos.change_faces(photo_id, changed, first=before)
        if written is not None and before is not None:
            core._written([(written, before.faces)], deps)
        else:  # a redelivery, or named otherwise meanwhile: file and announce it again all the same
            current = deps.photos.get(photo_id)
            if current is not None:
                deps.photos.file_faces((current, ()))
                deps.photos.announce_unknown(current.id, collection=current.collection)


def _with(rejected: tuple[str, ...], person_id: str) -> tuple[str, ...]:
    return rejected if person_id in rejected else (*rejected, person_id)


def _without(face: Face, rejected: str, collection: str, deps: ProcessorDeps) -> Face:
    """The face decided again by the policy over its collection's people, the person it is not left
    out: another person it is surely, or may be (a question), or nobody."""
    if face.encoding is None:
        return face
    verdict = deps.indexes.known(collection).index.decide(from_bytes(face.encoding)[None, :], deps.settings.naming,
                                      [{rejected, *face.rejected}])[0]
    return core.decided(face, verdict)


def merge(job: PeopleMerged, deps: ProcessorDeps) -> None:
    """``merged_id``'s encodings and faces become ``person_id``'s; then ``merged_id`` is deleted."""
    person = deps.people.get(job.person_id)
    if person is None:
        log.info("person.gone", extra={"person_id": job.person_id})
        return
    merged = deps.people.get(job.merged_id)
    if merged is not None and merged.collection != person.collection:
        log.warning("person.merge_refused", extra={"person_id": person.id, "merged_id": merged.id,
                                                   "reason": "two collections"})
        return
    if merged is not None:
        deps.people.take_photos(person.id, [p for p in merged.photos if p.status == ENROLLED])
        deps.people.announce(person.id, person.collection)
    ids = deps.photos.naming(job.merged_id)
    photos = _photos(ids, deps)
    faces = {pid: [i for i, f in enumerate(p.faces) if f.person_id == job.merged_id] for pid, p in photos.items()}
    _assign(person.id, {pid: idx for pid, idx in faces.items() if idx}, lambda f: f.person_id == job.merged_id, deps,
            by=None)
    if merged is not None:
        deps.people.delete(merged.id)
    deps.people.announce(job.merged_id, person.collection)  # again on a redelivery: the first run may have died
    log.info("person.merged", extra={"person_id": person.id, "merged_id": job.merged_id, "photos": len(faces)})
    core.rematch(person.id, deps)


# -- shared steps ----------------------------------------------------------------------------------
def _enrolling(person_id: str, key: str, deps: ProcessorDeps) -> Person | None:
    """The person, if they and the enrollment photo this job is about are still there."""
    person = deps.people.get(person_id)
    if person is None or all(p.key != key for p in person.photos):
        log.info("person.gone", extra={"person_id": person_id})
        return None
    return person


def _enrolled_from(person: Person, key: str, photo: Photo, index: int, deps: ProcessorDeps) -> bool:
    """The face's picture and encoding on the person (once: the photo's status says whether), with
    the face it came from; False when that enrollment photo failed (nothing more to do)."""
    entry = next(p for p in person.photos if p.key == key)
    face = photo.faces[index]
    if entry.status == ENROLLING:
        assert face.encoding is not None
        try:
            deps.blobs.put(key, _picture(photo, face, deps), "image/jpeg")
        except UnreadableImage as exc:
            _failed(person, key, f"the face's picture could not be made: {exc}", deps)
            return False
        deps.people.photo_enrolled(person.id, key, face.encoding, source=f"{photo.id}#{index}")
    elif entry.status != ENROLLED:
        return False
    deps.people.announce(person.id, person.collection)  # again on a redelivery: the first run may have died
    if entry.status == ENROLLED:
        core._heal(person.id, deps)
    log.info("person.photo_enrolled", extra={"person_id": person.id, "from_photo": photo.id})
    return True


def _picture(photo: Photo, face: Face, deps: ProcessorDeps) -> bytes:
    """The face's picture as processed, else cut again from the original (photos from older versions)."""
    if face.crop:
        try:
            return deps.blobs.get(face.crop)
        except MissingObject:
            pass
    image, _ = open_oriented(deps.blobs.get(photo.original_key))
    return face_picture(image, face.box)


def _failed(person: Person, key: str, error: str, deps: ProcessorDeps) -> None:
    entry = next((p for p in person.photos if p.key == key), None)
    if entry is not None and entry.status == ENROLLING:
        deps.people.photo_failed(person.id, key, error)
        log.warning("person.photo_failed", extra={"person_id": person.id, "error": error})


def _in_cluster(cluster: str, deps: ProcessorDeps) -> tuple[list[FaceRef], dict[str, Photo]]:
    """The faces filed under a cluster that are still in it (checked against their photos), and those
    photos; pointers a dead writer left are taken out, and the summary counted again."""
    group = f"cluster:{cluster}"
    refs, _ = deps.photos.faces_of(group)
    photos = _photos(sorted({r.photo_id for r in refs}), deps)

    def still(ref: FaceRef) -> bool:
        photo = photos.get(ref.photo_id)
        face = photo.faces[ref.index] if photo and ref.index < len(photo.faces) else None
        return face is not None and face.person_id is None and face.cluster == cluster and face.encoding is not None

    live = [r for r in refs if still(r)]
    if len(live) < len(refs):
        deps.photos.unfile(group, [r for r in refs if not still(r)])
        collection = next((p.collection for p in photos.values()), DEFAULT_COLLECTION)
        deps.photos.summarize([cluster], collection)
    return live, photos


def _photos(ids: list[str], deps: ProcessorDeps) -> dict[str, Photo]:
    found: dict[str, Photo] = {}
    for start in range(0, len(ids), 100):
        found.update(deps.photos.many(ids[start:start + 100]))
    return found


def _assign(person_id: str, faces: dict[str, list[int]], may_change: Callable[[Face], bool],
            deps: ProcessorDeps, by: str | None = "admin") -> int:
    """Name these faces ({photo id: indexes}) this person, each face only if ``may_change(face)``, as
    named ``by`` (None: as they were, a merge); filed under the person first, each photo one
    conditional write, then CSVs, groups and the feed. Returns how many photos changed."""
    if not faces:
        return 0
    deps.photos.file_named(person_id, faces)
    person = deps.people.get(person_id)
    encodings = [from_bytes(e) for e in person.encodings] if person else []

    def named(photo: Photo) -> tuple[Face, ...] | None:
        if person is not None and photo.collection != person.collection:
            return None  # a name never crosses collections
        changed = list(photo.faces)
        for i in faces[photo.id]:
            face = changed[i] if i < len(changed) else None
            if face is None or face.encoding is None or not may_change(face):
                continue
            if face.person_id == person_id and person_id not in face.rejected:
                continue
            changed[i] = replace(face, person_id=person_id, distance=_distance(face.encoding, encodings),
                                 cluster=None, rejected=tuple(r for r in face.rejected if r != person_id),
                                 suggestion=None, suggestion_distance=None,
                                 named_by=by or face.named_by)
        return tuple(changed) if changed != list(photo.faces) else None

    done: list[tuple[Photo, tuple[Face, ...]]] = []
    for photo in _photos(sorted(faces), deps).values():
        with photo_context(photo.id):
            written = deps.photos.change_faces(photo.id, named, first=photo)
        if written is not None:
            done.append((written, photo.faces))
    core._written(done, deps)
    return len(done)


def _distance(encoding: bytes, encodings: list[np.ndarray]) -> float:
    """How far the face is from the person's template (0 for a face that alone enrolled them)."""
    if not encodings:
        return 0.0
    return round(float(np.linalg.norm(template(encodings) - from_bytes(encoding))), 4)

