"""A deleted collection erased: its upload links, photos (objects, faces filed, records), people (their
pictures and records), the clusters of its unknown faces, its indexes' snapshots and feeds, and last
its record.

Each step deletes what is still there, so a redelivery after a kill at any line finishes the job; the
record goes last, so until everything is gone the collection stays listed as "deleting" (and nothing
new goes into it: the upload service refuses uploads, enrollments and links into it from the moment
the admin deleted it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from photolane_common.collection import LINK_PREFIX, index_name, people_feed, unknown_feed
from photolane_common.domain import DEFAULT_COLLECTION, Photo
from photolane_common.logs import photo_context
from photolane_common.messages import CollectionDeleted
from photolane_common.models import SettingModel
from photolane_common.photos import SUMMARY, FaceRef, face_group

from .mirror import INDEX_PREFIX

if TYPE_CHECKING:
    from .handlers import ProcessorDeps

log = logging.getLogger("photolane.processor.erasure")
BATCH = 100


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
