"""Deleting photos: who may, and what the upload service does (the processor erases, erasure.py there).

A photo may be deleted by its uploader's session, the signed-in owner of its email, or the admin (the
admin session, or the API's bearer token): the same callers who see its contacts. Anyone else gets a
403 (the id is the capability that shows the photo, so a 404 would hide nothing). Deleting marks the
record ``erasing`` (from then on it is shown nowhere: the API, the photo page and the gallery answer as
for a deleted photo), takes it out of the cached gallery, and queues ``photo.deleted``; a job that cannot
be queued is sent again by the processor's reconciler (the mark keeps the photo on its pending index).
Deleting again, while it is being erased, queues the job again (202); once erased it is gone (404).

"Delete all my photos" is the signed-in (verified) owner's: one ``owner.photos_deleted``, which the
processor turns into a mark and a job per photo sent before the request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from photolane_common.domain import ERASING, Photo, email_hash, owner_of
from photolane_common.logs import photo_context
from photolane_common.messages import OwnerPhotosDeleted, PhotoDeleted

from . import sessions
from .handlers import QueueUnavailable, UploadDeps

log = logging.getLogger("photolane.upload.erase")
MAX_ID = 64


def deletable(photo_id: str, deps: UploadDeps) -> Photo | None:
    """The photo, unless there is none (or it is erased already)."""
    return deps.photos.get(photo_id) if len(photo_id) <= MAX_ID else None


def shown(photo: Photo | None) -> Photo | None:
    """The photo as the pages and the API show it: a photo being erased is not shown."""
    return None if photo is None or photo.status == ERASING else photo


def deleter(photo: Photo, deps: UploadDeps) -> str | None:
    """Who may delete the photo here: ``admin`` (session or bearer token), ``owner`` (its uploader's
    session, the signed-in owner of its email), or None (anyone else)."""
    settings = deps.settings
    if sessions.bearer_is_admin(settings) or sessions.is_admin(settings):
        return "admin"
    return "owner" if sessions.owns(photo.id, photo.email) else None


def delete_photo(photo: Photo, deps: UploadDeps, by: str) -> None:
    """Marked erasing, out of the cached gallery, its erasure queued (idempotent)."""
    with photo_context(photo.id):
        if not deps.photos.mark_erasing(photo.id):
            return  # erased meanwhile
        if photo.email:
            deps.gallery.removed(owner_of(photo.email) or "", photo.id)
        try:
            deps.jobs.send(PhotoDeleted(photo_id=photo.id))
        except Exception:  # noqa: BLE001 - marked: the reconciler sends the job again
            log.warning("photo.delete_queue_failed", exc_info=True)
        log.info("photo.deleted", extra={"by": by, "status_was": photo.status})


def delete_all(owner: str, deps: UploadDeps) -> datetime:
    """Every photo of a signed-in owner sent until now: the processor marks and erases each. Returns
    the request's time (photos sent before it are being deleted)."""
    before = datetime.now(UTC)
    try:
        deps.jobs.send(OwnerPhotosDeleted(owner=owner, before=before))
    except Exception as exc:
        log.exception("owner.delete_queue_failed", extra={"owner": email_hash(owner)})
        raise QueueUnavailable() from exc
    log.info("owner.photos_deleted", extra={"owner": email_hash(owner)})
    return before
