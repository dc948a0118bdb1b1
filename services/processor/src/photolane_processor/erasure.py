"""Erasures: a deleted photo, all of an owner's photos, a deleted person's leftovers, a deleted collection.

A deleted photo (``photo.deleted``, the record marked ``erasing`` first) is erased with everything made
from it: its rows in every processor's unknown-face index and in every snapshot of it, the samples a
person was enrolled with from its faces (their pictures, and the people index's snapshots), its objects
(original, flipped copy, thumbnail, face pictures, results), its faces' pointers in the faces table (the
clusters they were in counted again, never dropped: other photos share them), the settings table's
items naming it (feed entries become tombstones), and last its record. Each step is idempotent and
works from the record, which goes last, so a redelivery after a kill at any line finishes the job.

A deleted collection is erased: its upload links, photos (objects, faces filed, records), people (their
pictures and records), the clusters of its unknown faces, its indexes' snapshots and feeds, and last
its record. Each of its steps deletes what is still there, so a redelivery after a kill at any line
finishes the job; the record goes last, so until everything is gone the collection stays listed as
"deleting" (and nothing new goes into it: the upload service refuses uploads, enrollments and links
into it from the moment the admin deleted it).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from photolane_common.collection import LINK_PREFIX, index_name, people_feed, unknown_feed
from photolane_common.domain import DEFAULT_COLLECTION, ERASING, Person, PersonPhoto, Photo, email_hash
from photolane_common.feed import erase_mentions
from photolane_common.logs import photo_context
from photolane_common.messages import CollectionDeleted, OwnerPhotosDeleted, PhotoDeleted
from photolane_common.models import SettingModel
from photolane_common.photos import CLUSTER, SUMMARY, FaceRef, face_group

from . import handlers as core
from .mirror import INDEX_PREFIX

if TYPE_CHECKING:
    from .handlers import ProcessorDeps

log = logging.getLogger("photolane.processor.erasure")
BATCH = 100


# -- a deleted photo ---------------------------------------------------------------------------------
def erase_photo(job: PhotoDeleted, deps: ProcessorDeps) -> None:
    """The job of a photo marked ``erasing``; a photo gone already (a redelivery) or not being deleted
    is left as it is."""
    with photo_context(job.photo_id):
        photo = deps.photos.get(job.photo_id)
        if photo is None or photo.status != ERASING:
            log.info("photo.not_erased", extra={"reason": "gone" if photo is None else "not being deleted"})
            return
        erase(photo, deps)


def erase(photo: Photo, deps: ProcessorDeps) -> None:
    """Everything made from the photo, then its record (each step idempotent; the record goes last)."""
    with photo_context(photo.id):
        _forget_rows(photo, deps)
        samples = _drop_samples(photo, deps)
        objects = _delete_objects(photo, deps)
        _pause_for_tests(deps)
        clusters = _unfile(photo, deps)
        mentions = erase_mentions(photo.id)  # after the snapshots: a tombstone's reader finds a clean one
        deps.photos.delete(photo.id)
        log.info("photo.erased", extra={"faces": len(photo.faces), "objects": objects, "samples": samples,
                                        "clusters": clusters, "mentions": mentions})


def _pause_for_tests(deps: ProcessorDeps) -> None:
    """PHOTOLANE_FAULT_PAUSE_IN_ERASURE_SECONDS (tests only): a window half-way through to kill in."""
    pause = deps.settings.fault_pause_in_erasure_seconds
    if pause:
        log.warning("fault.pause_in_erasure", extra={"seconds": pause})
        time.sleep(pause)


def _forget_rows(photo: Photo, deps: ProcessorDeps) -> None:
    """Every processor's unknown-face index drops its rows (its record says erasing), and no snapshot
    keeps them: one written now, the older ones deleted."""
    if not any(face.encoding for face in photo.faces):
        return  # never indexed
    deps.photos.announce_unknown(photo.id, collection=photo.collection)
    deps.indexes.unknown(photo.collection).purge_snapshots()


def _drop_samples(photo: Photo, deps: ProcessorDeps) -> int:
    """The samples people were enrolled with from this photo's faces (encoding and picture) go; their
    templates change, so the people index is announced and its snapshots purged. Returns how many."""
    named = {face.person_id for face in photo.faces if face.person_id}
    if not named:
        return 0
    removed = 0
    for person in deps.people.many(named).values():
        removed += _drop_samples_of(person, photo.id, deps)
    deps.indexes.known(photo.collection).purge_snapshots()
    return removed


def _drop_samples_of(person: Person, photo_id: str, deps: ProcessorDeps) -> int:
    taken = [sample for sample in person.photos if _taken_from(sample, photo_id)]
    for sample in taken:
        deps.blobs.delete(sample.key)  # before the record: a kill in between finds the sample again
    if taken:
        deps.people.remove_photo(person.id, *(sample.key for sample in taken))
    deps.people.announce(person.id, person.collection)  # again on a redelivery: the first run may have died
    if taken:
        core.recheck(person.id, person.collection, deps)  # faces matched with the sample's help: decided again
        log.info("person.samples_erased", extra={"person_id": person.id, "samples": len(taken)})
    return len(taken)


def _taken_from(sample: PersonPhoto, photo_id: str) -> bool:
    return (sample.source or "").partition("#")[0] == photo_id or f"/face-{photo_id}-" in sample.key


def _delete_objects(photo: Photo, deps: ProcessorDeps) -> int:
    """Original, flipped copy, thumbnail, results, face pictures: by the record's keys and by the
    names the processor gives them (a run that died before recording its keys)."""
    keys = {photo.original_key, photo.flipped_key, photo.thumbnail_key, photo.results_key,
            f"thumbs/{photo.id}.jpg", f"results/{photo.id}.csv"} - {None, ""}
    for key in sorted(keys):
        deps.blobs.delete(key)
    under = (f"originals/{photo.id}.", f"flipped/{photo.id}.", f"faces/{photo.id}/")
    return len(keys) + sum(deps.blobs.delete_under(prefix) for prefix in under)


def _unfile(photo: Photo, deps: ProcessorDeps) -> int:
    """Its faces' pointers out of their groups; the clusters they were in counted again (other photos'
    faces stay in them). Returns how many clusters were counted."""
    gone: dict[str, set[str]] = {}
    for index, face in enumerate(photo.faces):
        group = face_group(face)
        if group:
            deps.photos.unfile(group, [FaceRef(photo.id, index)])
        if group and group.startswith(CLUSTER):
            gone.setdefault(group.removeprefix(CLUSTER), set()).add(f"{photo.id}#{index}")
    deps.photos.summarize(list(gone), photo.collection, gone)
    return len(gone)


def discard(photo_id: str, deps: ProcessorDeps) -> None:
    """What a processing run wrote for a photo that was deleted meanwhile (its record refused the
    result): the objects; the record and the rest are the erasure's."""
    for prefix in (f"flipped/{photo_id}.", f"faces/{photo_id}/"):
        deps.blobs.delete_under(prefix)
    for key in (f"thumbs/{photo_id}.jpg", f"results/{photo_id}.csv"):
        deps.blobs.delete(key)
    log.info("photo.discarded", extra={"reason": "deleted while processed"})


def erased_meanwhile(photo: Photo, deps: ProcessorDeps) -> bool:
    """After a processing run filed a photo's faces: if it was deleted meanwhile (the erasure may have
    run before the faces were filed), erase it again with the faces in hand; True then."""
    current = deps.photos.get(photo.id)
    if current is not None and current.status != ERASING:
        return False
    erase(current or photo, deps)
    return True


# -- all of an owner's photos ------------------------------------------------------------------------
def erase_owner(job: OwnerPhotosDeleted, deps: ProcessorDeps) -> None:
    """Each photo of the owner sent before the request: marked erasing, then its own erasure job. A
    redelivery pages again (photos erased meanwhile are gone from the index; the rest are sent again)."""
    assert deps.jobs is not None
    sent = 0
    for photo in deps.photos.owned_all(job.owner):
        if photo.created_at > job.before:
            continue
        with photo_context(photo.id):
            if deps.photos.mark_erasing(photo.id):  # False: erased meanwhile
                deps.jobs.send(PhotoDeleted(photo_id=photo.id))
                sent += 1
    log.info("owner.photos_deleted", extra={"owner": email_hash(job.owner), "photos": sent})


# -- a deleted person's leftovers --------------------------------------------------------------------
def erase_person(person_id: str, collection: str, deps: ProcessorDeps) -> None:
    """After their faces were un-named: their pictures (enrollment photos, faces named them), their
    pointers in the faces table, their record (deleted by the upload service; again here), and the
    people index's snapshots, which hold their template."""
    pictures = deps.blobs.delete_under(f"people/{person_id}/")
    deps.photos.drop_group(f"person:{person_id}")
    deps.people.delete(person_id)
    deps.indexes.known(collection).purge_snapshots()
    log.info("person.erased", extra={"person_id": person_id, "pictures": pictures})


# -- a deleted collection ------------------------------------------------------------------------------


def erase_collection(job: CollectionDeleted, deps: ProcessorDeps) -> None:
    collection = deps.collections.get(job.collection)
    if job.collection == DEFAULT_COLLECTION or collection is None or collection.status != "deleting":
        log.info("collection.not_erased", extra={"collection": job.collection,
                                                  "reason": "default" if job.collection == DEFAULT_COLLECTION
                                                  else "gone" if collection is None else "not being deleted"})
        return
    for link in collection.links:
        SettingModel(LINK_PREFIX + link.hash).delete()
    photos = _erase_photos(job.collection, deps)
    people = 0
    for person in list(deps.people.every_of(job.collection)):
        deps.blobs.delete_under(f"people/{person.id}/")
        deps.photos.drop_group(f"person:{person.id}")
        deps.people.delete(person.id)
        people += 1
    for kind in ("people", "unknown"):
        deps.blobs.delete_under(f"{INDEX_PREFIX}{index_name(kind, job.collection)}/")
    for feed in (people_feed(job.collection), unknown_feed(job.collection)):
        for key in (feed, f"{feed}:snapshot", f"{feed}:snapshot-lease"):
            SettingModel(key).delete()  # its entries die on their own (the table's TTL)
    deps.indexes.forget(job.collection)
    deps.collections.delete(job.collection)
    log.info("collection.erased", extra={"collection": job.collection, "photos": photos, "people": people})


def _erase_photos(collection: str, deps: ProcessorDeps) -> int:
    ids = list(deps.photos.ids_of(collection))
    for start in range(0, len(ids), BATCH):
        for photo in deps.photos.many(ids[start:start + BATCH]).values():
            if photo.collection == collection:
                _erase_photo(photo, deps)
    return len(ids)


def _erase_photo(photo: Photo, deps: ProcessorDeps) -> None:
    with photo_context(photo.id):
        for key in (photo.original_key, photo.flipped_key, photo.thumbnail_key, photo.results_key):
            if key:
                deps.blobs.delete(key)
        deps.blobs.delete_under(f"faces/{photo.id}/")
        for face in photo.faces:
            if face.cluster:
                deps.photos.drop_group(f"cluster:{face.cluster}")
                deps.photos.drop_group(f"{SUMMARY}{face.cluster}")
        for index, face in enumerate(photo.faces):
            group = face_group(face)
            if group:
                deps.photos.unfile(group, [FaceRef(photo.id, index)])
        deps.photos.delete(photo.id)
        log.info("photo.erased")
