"""What the upload service does, apart from HTTP: accept an upload, describe a photo."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from photolane_common.aws import BlobStore, MessageQueue
from photolane_common.batch_links import BatchLinks
from photolane_common.collection import CollectionStore
from photolane_common.domain import DEFAULT_COLLECTION, QUEUED, Face, Person, Photo, owner_of
from photolane_common.limits import Limit, Limiter, wait_phrase
from photolane_common.logs import photo_context
from photolane_common.messages import PersonDeleted, PersonPhotoAdded, PhotoUploaded
from photolane_common.metrics import UPLOADS_ACCEPTED, UPLOADS_REFUSED, metrics
from photolane_common.people import PeopleStore
from photolane_common.phones import line_unknown, sms_refusal
from photolane_common.photos import PhotoStore

from .gallery import Entry, Gallery
from .queues import QueueAdmin
from .settings import UploadSettings
from .switches import Revocations, UsedLinks
from .upload_links import UploadLinks
from .validation import (
    ImageInfo,
    InvalidUpload,
    clean_filename,
    inspect_image,
    normalize_email,
    normalize_phone,
    person_attributes,
    person_name,
)

DAY = 86400

log = logging.getLogger("photolane.upload")


class SwitchBoard(Protocol):
    def uploads_blocked(self) -> bool: ...
    def set_uploads_blocked(self, blocked: bool) -> None: ...


@dataclass
class UploadDeps:
    settings: UploadSettings
    photos: PhotoStore
    people: PeopleStore
    blobs: BlobStore
    jobs: MessageQueue
    switches: SwitchBoard
    notifications: MessageQueue
    gallery: Gallery
    queues: QueueAdmin
    limiter: Limiter
    revocations: Revocations
    used_links: UsedLinks
    collections: CollectionStore
    upload_links: UploadLinks
    batch_links: BatchLinks = field(default_factory=BatchLinks)  # the notifier's batches' pages


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    email: str | None
    phone: str | None
    collection: str = DEFAULT_COLLECTION  # asked for: only the admin may name one other than the default
    link: str | None = None  # an upload link's code: the photo goes into its collection
    admin: bool = False  # sent with the admin token


class UploadsBlocked(Exception):
    """An admin has blocked uploads."""


class QueueUnavailable(Exception):
    """The photo was stored but could not be queued; it is recorded as failed."""


def accept_upload(upload: Upload, deps: UploadDeps) -> Photo:
    """Validate, store the original, write the record, queue the job, in that order."""
    try:
        photo = _accept(upload, deps)
    except InvalidUpload as exc:
        metrics.count(UPLOADS_REFUSED, reason=exc.reason)
        raise
    except UploadsBlocked:
        metrics.count(UPLOADS_REFUSED, reason="blocked")
        raise
    except QueueUnavailable:
        metrics.count(UPLOADS_REFUSED, reason="queue_unavailable")
        raise
    metrics.count(UPLOADS_ACCEPTED)
    return photo


def _accept(upload: Upload, deps: UploadDeps) -> Photo:
    if deps.switches.uploads_blocked():
        raise UploadsBlocked()
    collection = destination(upload, deps)
    email, phone = checked_contacts(upload.email, upload.phone, deps.settings)
    info = inspect_image(upload.data, deps.settings.max_upload_bytes, deps.settings.max_pixels)
    if phone and not upload.admin and line_unknown(phone):
        _count_unknown_line(phone)
    if email and not upload.admin:
        _count_for_email(owner_of(email), deps)
    photo_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    photo = Photo(
        id=photo_id, status=QUEUED, created_at=now, updated_at=now, content_type=info.content_type,
        original_key=f"originals/{photo_id}.{info.extension}", email=email, phone=phone,
        filename=clean_filename(upload.filename), width=info.width, height=info.height,
        collection=collection,
    )
    with photo_context(photo_id):
        deps.blobs.put(photo.original_key, upload.data, info.content_type)
        deps.photos.create(photo, retention_days=deps.settings.retention_days)
        try:
            deps.jobs.send(PhotoUploaded(photo_id=photo_id, original_key=photo.original_key))
        except Exception as exc:
            log.exception("photo.queue_failed")
            deps.photos.mark_failed(photo_id, "the photo could not be queued for processing; upload it again")
            raise QueueUnavailable() from exc
        if email:
            deps.gallery.added(owner_of(email), photo)
        log.info("photo.uploaded", extra={"bytes": len(upload.data), "format": info.format,
                                          "width": info.width, "height": info.height})
    return photo


def checked_contacts(email: str | None, phone: str | None, settings: UploadSettings) -> tuple[str | None, str | None]:
    """An upload's email and phone as they are stored (normalized; None when not given), or InvalidUpload
    with what is wrong. The upload checks them before its image; the upload page asks the same check
    (``POST /api/contacts/check``, contacts.py) before it sends any file."""
    email, phone = normalize_email(email), normalize_phone(phone)
    refusal = sms_refusal(phone, settings.sms_country_codes) if phone else None
    if refusal:
        raise InvalidUpload(f"phone: {refusal}", reason="sms_refused")
    return email, phone


def _count_unknown_line(phone: str) -> None:
    """A number that may be a landline (US, CA): few different ones per client address (guards.py)."""
    from .guards import TooMany, count_unknown_line_number  # guards reads the deps, which name this module

    try:
        count_unknown_line_number(phone)
    except TooMany as exc:
        raise InvalidUpload(exc.message, 429, reason="sms_limited", retry_after=exc.retry_after) from exc


def _count_for_email(owner: str, deps: UploadDeps) -> None:
    """Uploads naming one email, per day, from anyone: a flood of photos sent with somebody's email
    would bury theirs in their gallery and use up the notifications they get (an admin is not counted)."""
    limit = Limit("uploads-email", deps.settings.uploads_per_email_day, DAY, "uploads")
    verdict = deps.limiter.check(limit, owner)
    if not verdict.allowed:
        raise InvalidUpload(f"too many uploads for this email: the limit is {limit.describe()}; try again "
                            f"{wait_phrase(verdict.retry_after)}", 429, reason="email_limited",
                            retry_after=verdict.retry_after)


def destination(upload: Upload, deps: UploadDeps) -> str:
    """The collection an upload goes into: its link's, or one the admin names, or the default one.
    Anyone else naming a collection is refused: its people's names are not theirs to probe."""
    if upload.link:
        collection = link_collection(upload.link, deps)
    elif upload.collection != DEFAULT_COLLECTION and not upload.admin:
        raise InvalidUpload("uploading into a collection takes its upload link (the field 'link') or the admin "
                            "token", 403, reason="bad_link")
    else:
        collection = upload.collection
    open_collection(collection, deps)
    return collection


def open_collection(collection_id: str, deps: UploadDeps) -> None:
    """Raise InvalidUpload unless photos and people may go into this collection now."""
    if collection_id == DEFAULT_COLLECTION:
        return
    collection = deps.collections.get(collection_id)
    if collection is None:
        raise InvalidUpload(f"no collection {collection_id!r} (POST /api/collections makes one)", 404)
    if collection.status == "deleting":
        raise InvalidUpload(f"collection {collection_id!r} is being deleted", 409)


def link_collection(code: str, deps: UploadDeps) -> str:
    """The collection an upload link opens, or InvalidUpload (403) when it is revoked, expired or made up."""
    collection = deps.upload_links.collection_of(code)
    if collection is None:
        raise InvalidUpload("this upload link is not valid any more (revoked or expired): ask for a new one", 403,
                            reason="bad_link")
    return collection


def masked(to: str) -> str:
    """Enough of an address or number to recognise it, not to use it: ``a•••@e•••.com``, ``•••••23``."""
    if "@" in to:
        local, _, domain = to.partition("@")
        name, dot, tld = domain.rpartition(".")
        return f"{local[:1]}•••@{name[:1]}•••{dot}{tld}" if name else f"{local[:1]}•••@•••"
    return "•" * max(len(to) - 2, 3) + to[-2:]


def photo_view(photo: Photo, deps: UploadDeps, reveal_contacts: bool = False) -> dict[str, Any]:
    """The API's answer for one photo: the recipients in full only when ``reveal_contacts``."""
    url = lambda key: deps.blobs.url(key, deps.settings.presign_seconds)  # noqa: E731
    people = deps.people.many({f.person_id for f in photo.faces if f.person_id}
                              | {f.suggestion for f in photo.faces if f.suggestion and not f.person_id})
    return {
        "id": photo.id,
        "status": photo.status,
        "collection": photo.collection,
        "error": photo.error,
        "filename": photo.filename,
        "width": photo.width,
        "height": photo.height,
        "created_at": photo.created_at.isoformat(),
        "updated_at": photo.updated_at.isoformat(),
        "original_url": url(photo.original_key),
        "flipped_url": url(photo.flipped_key),
        "thumbnail_url": url(photo.thumbnail_key),
        "results_url": url(photo.results_key),
        "faces": [
            {
                "index": index,
                "box": list(face.box),
                "person": _person_ref(people.get(face.person_id)) if face.person_id else None,
                "distance": face.distance,
                "cluster": face.cluster if face.person_id is None else None,
                "suggestion": _suggestion(face, people),
                "named_by": face.named_by if face.person_id else None,
                "crop_url": url(face.crop),
            }
            for index, face in enumerate(photo.faces)
        ],
        "sideways": {"turn": photo.sideways.turn, "faces": photo.sideways.faces, "hint": photo.sideways.hint}
        if photo.sideways else None,
        "notifications": [
            {
                "channel": d.channel,
                "to": d.to if reveal_contacts else masked(d.to),
                "status": d.status,
                "error": d.error,
                "note": d.note,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            }
            for d in photo.deliveries
        ],
    }


def _suggestion(face: Face, people: dict[str, Person]) -> dict[str, Any] | None:
    """Who an unknown face may be (the naming policy was not sure enough to name it), if anyone."""
    person = people.get(face.suggestion) if face.suggestion and face.person_id is None else None
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "distance": face.suggestion_distance}


def _person_ref(person: Person | None) -> dict[str, Any] | None:
    return None if person is None else {"id": person.id, "name": person.name, "attributes": person.attributes}


# -- people ----------------------------------------------------------------------------------------
MAX_PERSON_PHOTOS = 10  # photos in one enrollment call


@dataclass(frozen=True)
class Enrollment:
    name: str | None
    attributes: str | None
    photos: tuple[bytes, ...] | bytes  # one photo, or several (each one face of this person)
    collection: str = DEFAULT_COLLECTION


def enroll_person(enrollment: Enrollment, deps: UploadDeps) -> Person:
    """Check everything, store the photos, create the person (enrolling), and queue each encoding.

    Several photos are checked before any is stored: one refused refuses the call, naming which."""
    name = person_name(enrollment.name)
    attributes = person_attributes(enrollment.attributes)
    open_collection(enrollment.collection, deps)
    photos = (enrollment.photos,) if isinstance(enrollment.photos, bytes) else tuple(enrollment.photos)
    if not photos:
        raise InvalidUpload("send at least one photo of the person's face")
    if len(photos) > MAX_PERSON_PHOTOS:
        raise InvalidUpload(f"{len(photos)} photos; send at most {MAX_PERSON_PHOTOS} at once "
                            "(more with POST /api/people/<id>/photos)")
    infos = []
    for n, data in enumerate(photos, 1):
        try:
            infos.append(inspect_image(data, deps.settings.max_upload_bytes, deps.settings.max_pixels))
        except InvalidUpload as exc:
            if len(photos) == 1:
                raise
            raise InvalidUpload(f"photo {n}: {exc.message}", exc.status) from exc
    person_id = str(uuid.uuid4())
    keys = [_put_person_photo(person_id, data, info, deps) for data, info in zip(photos, infos, strict=True)]
    person = deps.people.create(person_id, name, attributes, keys, enrollment.collection)
    unqueued = None
    for key in keys:
        try:
            _queue_enrollment(person_id, key, deps)
        except QueueUnavailable as exc:  # the others are still tried; each one not queued is marked failed
            unqueued = exc
    if unqueued is not None:
        raise unqueued
    log.info("person.created", extra={"person_id": person_id, "photos": len(keys)})
    return person


def add_person_photo(person_id: str, photo: bytes, deps: UploadDeps) -> Person | None:
    if deps.people.get(person_id) is None:
        return None
    key = _store_person_photo(person_id, photo, deps)
    person = deps.people.add_photo(person_id, key)
    if person is not None:
        _queue_enrollment(person_id, key, deps)
    return person


def _queue_enrollment(person_id: str, key: str, deps: UploadDeps) -> None:
    """Queue the encoding; if that fails the photo is marked failed, never left enrolling."""
    try:
        deps.jobs.send(PersonPhotoAdded(person_id=person_id, photo_key=key))
    except Exception as exc:
        log.exception("person.queue_failed", extra={"person_id": person_id})
        deps.people.photo_failed(person_id, key, "the photo could not be queued for encoding; send it again")
        raise QueueUnavailable() from exc


def delete_person(person_id: str, deps: UploadDeps) -> bool:
    """Gone from matching at once; their faces are un-named by the processor."""
    person = deps.people.get(person_id)
    if person is None or not deps.people.delete(person_id):
        return False
    # Every processor drops their encodings (the processor announces again).
    deps.people.announce(person_id, person.collection)
    deps.jobs.send(PersonDeleted(person_id=person_id, collection=person.collection))
    log.info("person.deleted", extra={"person_id": person_id})
    return True


def _store_person_photo(person_id: str, data: bytes, deps: UploadDeps) -> str:
    info = inspect_image(data, deps.settings.max_upload_bytes, deps.settings.max_pixels)
    return _put_person_photo(person_id, data, info, deps)


def _put_person_photo(person_id: str, data: bytes, info: ImageInfo, deps: UploadDeps) -> str:
    key = f"people/{person_id}/{uuid.uuid4()}.{info.extension}"
    deps.blobs.put(key, data, info.content_type)
    return key


def person_view(person: Person, deps: UploadDeps) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "collection": person.collection,
        "attributes": person.attributes,
        "status": person.status,
        "error": person.error,
        "created_at": person.created_at.isoformat(),
        "photos": [
            {"status": p.status, "error": p.error, "url": deps.blobs.url(p.key, deps.settings.presign_seconds),
             "source": p.source}
            for p in person.photos
        ],
    }


def parse_blocked(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("blocked"), bool):
        raise InvalidUpload('send a JSON object {"blocked": true} or {"blocked": false}')
    return body["blocked"]


def _utc(stamp: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def utc_text(stamp: str) -> str:
    """An ISO time as a page shows it before its script puts it in the reader's zone: '2026-12-06 14:03 UTC'."""
    moment = _utc(stamp)
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else stamp


def gallery_items(entries: list[Entry], deps: UploadDeps,
                  people: dict[str, Person] | None = None) -> list[dict[str, Any]]:
    """What the gallery page shows of each photo: its images, when it came (ISO for the page's script to
    show in local time, and a UTC text for a page without script), and the people in it ({id, name}).
    ``people``: those already read, by id (else read here)."""
    url = lambda key: deps.blobs.url(key, deps.settings.presign_seconds)  # noqa: E731
    if people is None:
        people = deps.people.many(pid for e in entries for pid in e.person_ids)

    def when(stamp: str) -> tuple[str, str]:
        moment = _utc(stamp)
        return (moment.isoformat(timespec="seconds"), utc_text(stamp)) if moment else (stamp, stamp)

    items = []
    for e in entries:
        iso, text = when(e.created_at)
        named = [people[pid] for pid in e.person_ids if pid in people]
        names = [p.name for p in named]
        title = e.filename or "photo"
        items.append({
            "id": e.id, "status": e.status, "error": e.error, "filename": e.filename,
            "created_at": iso, "created_text": text, "faces": e.faces,
            "original_url": url(e.original_key), "flipped_url": url(e.flipped_key),
            "thumbnail_url": url(e.thumbnail_key),
            "people": [{"id": p.id, "name": p.name} for p in named],
            "alt": f"{title} — {', '.join(names)}" if names else title,
        })
    return items
