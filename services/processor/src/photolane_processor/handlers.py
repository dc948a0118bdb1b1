"""What the processor does with each job: photos, enrollment photos, deleted people."""

from __future__ import annotations

import logging
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from pynamodb.exceptions import PutError

from photolane_common.aws import BlobStore, MessageQueue, MissingObject, MissingQueue
from photolane_common.domain import ENROLLED, ENROLLING, PROCESSED, QUEUED, Face, Photo, ProcessedImage
from photolane_common.logs import photo_context
from photolane_common.messages import (
    Envelope,
    InvalidMessage,
    PersonDeleted,
    PersonPhotoAdded,
    PhotoProcessed,
    PhotoUploaded,
    S3Object,
    S3ObjectsCreated,
    StatsAnswered,
    StatsRequested,
)
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_common.resources import INCOMING_PREFIX

from .imaging import UnreadableImage, open_oriented
from .known import KnownPeople
from .matching import FaceIndex, from_bytes, to_bytes
from .numbers import BadNumbers, summarize
from .pipeline import Detector, Encoder, Recognition, render, results_csv
from .settings import ProcessorSettings

log = logging.getLogger("photolane.processor")


@dataclass
class ProcessorDeps:
    settings: ProcessorSettings
    photos: PhotoStore
    people: PeopleStore
    known: KnownPeople
    blobs: BlobStore
    notifications: MessageQueue
    detector: Detector
    encoder: Encoder
    replies: Callable[[str], MessageQueue]  # a reply queue, by name
    jobs: MessageQueue | None = None  # its own queue: the reconciler sends a lost job again


def handle(envelope: Envelope, deps: ProcessorDeps) -> None:
    job = envelope.payload()
    if isinstance(job, PhotoUploaded):
        process_photo(job, deps)
    elif isinstance(job, PersonPhotoAdded):
        enroll(job, deps)
    elif isinstance(job, PersonDeleted):
        forget(job, deps)
    elif isinstance(job, StatsRequested):
        answer_stats(job, deps)
    elif isinstance(job, S3ObjectsCreated):
        for dropped in job.objects:
            ingest(dropped, deps)
    else:
        raise InvalidMessage(f"the processor does not handle {envelope.type}")


# -- photos ----------------------------------------------------------------------------------------
def process_photo(job: PhotoUploaded, deps: ProcessorDeps) -> None:
    """Idempotent: a job seen twice leaves the same record and objects, and notifies again."""
    photo = deps.photos.get(job.photo_id)
    if photo is None:
        log.warning("photo.missing")
        return
    if photo.status == PROCESSED or not deps.photos.mark_processing(photo.id):
        log.info("photo.already_processed")
        _notify(deps, photo.id, "processed")
        return
    deps.known.refresh()
    recognition = Recognition(deps.detector, deps.encoder, deps.known.index, deps.settings.face_tolerance)
    try:
        outputs = render(deps.blobs.get(job.original_key), recognition, deps.settings.thumbnail_px,
                         deps.settings.jpeg_quality, deps.settings.work_px)
    except (UnreadableImage, MissingObject) as exc:
        error = str(exc) if isinstance(exc, UnreadableImage) else "the original is missing from the bucket"
        deps.photos.mark_failed(photo.id, error)
        log.warning("photo.failed", extra={"error": error})
        _notify(deps, photo.id, "failed")
        return
    result = ProcessedImage(
        flipped_key=f"flipped/{photo.id}.{outputs.flipped.extension}",
        thumbnail_key=f"thumbs/{photo.id}.jpg",
        results_key=f"results/{photo.id}.csv",
        width=outputs.width,
        height=outputs.height,
        faces=outputs.faces,
    )
    deps.blobs.put(result.flipped_key, outputs.flipped.data, outputs.flipped.content_type)
    deps.blobs.put(result.thumbnail_key, outputs.thumbnail.data, outputs.thumbnail.content_type)
    deps.blobs.put(result.results_key, results_csv(outputs.faces, deps.known.people), "text/csv")
    deps.photos.mark_processed(photo.id, result)
    named = sum(1 for face in outputs.faces if face.person_id)
    log.info("photo.processed", extra={"faces": len(outputs.faces), "named": named, "width": outputs.width,
                                       "height": outputs.height, "ms": outputs.timings_ms})
    _catch_up(photo.id, recognition.index, deps)
    _notify(deps, photo.id, "processed")


def ingest(dropped: S3Object, deps: ProcessorDeps) -> None:
    """An image put straight under incoming/: a record of its own, then the same path as an upload.

    Its id comes from the object (bucket, key, ETag), so the same object notified twice is one photo,
    processed once.
    """
    if dropped.bucket != deps.settings.bucket or not dropped.key.startswith(INCOMING_PREFIX):
        log.info("s3.ignored", extra={"bucket": dropped.bucket, "key": dropped.key})
        return
    photo_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{dropped.bucket}/{dropped.key}#{dropped.etag}"))
    with photo_context(photo_id):
        if deps.photos.get(photo_id) is None:
            now = datetime.now(UTC)
            content_type = mimetypes.guess_type(dropped.key)[0] or "application/octet-stream"
            photo = Photo(id=photo_id, status=QUEUED, created_at=now, updated_at=now, content_type=content_type,
                          original_key=dropped.key, filename=PurePosixPath(dropped.key).name[:200])
            try:
                deps.photos.create(photo)
            except PutError as exc:  # created by a concurrent delivery of the same event
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise
            log.info("photo.dropped_in", extra={"key": dropped.key, "bytes": dropped.size})
        process_photo(PhotoUploaded(photo_id=photo_id, original_key=dropped.key), deps)


def _catch_up(photo_id: str, used: FaceIndex, deps: ProcessorDeps) -> None:
    """People enrolled while this photo was in hand missed it in their re-match: name them now."""
    deps.known.refresh()
    if deps.known.index is not used:
        _rename(photo_id, deps.known.index, deps)


def give_up(envelope: Envelope, error: BaseException, deps: ProcessorDeps) -> None:
    """The last try failed: the record says so now; the message goes to the dead-letter queue."""
    job = envelope.payload()
    reason = f"processing failed after {deps.settings.max_receives} tries: {error}"
    if isinstance(job, PhotoUploaded) and deps.photos.mark_failed(job.photo_id, reason):
        _notify(deps, job.photo_id, "failed")
    elif isinstance(job, PersonPhotoAdded):
        deps.people.photo_failed(job.person_id, job.photo_key, reason)


def _notify(deps: ProcessorDeps, photo_id: str, status: str) -> None:
    deps.notifications.send(PhotoProcessed(photo_id=photo_id, status=status))


# -- numbers ---------------------------------------------------------------------------------------
def answer_stats(job: StatsRequested, deps: ProcessorDeps) -> None:
    """Min, max, mean, median on the reply queue; bad numbers get an error answer, not a retry."""
    try:
        summary = summarize(job.numbers)
        answer = StatsAnswered(request_id=job.request_id, count=summary.count, min=summary.min,
                               max=summary.max, mean=summary.mean, median=summary.median)
    except BadNumbers as exc:
        answer = StatsAnswered(request_id=job.request_id, error=str(exc))
    try:
        deps.replies(job.reply_queue).send(answer)
    except MissingQueue:
        # The client gave up and deleted its queue: nobody is left to answer.
        log.warning("stats.reply_queue_gone", extra={"request_id": job.request_id, "queue": job.reply_queue})
        return
    log.info("stats.answered", extra={"request_id": job.request_id, "count": answer.count,
                                      "error": answer.error})


# -- people ----------------------------------------------------------------------------------------
def enroll(job: PersonPhotoAdded, deps: ProcessorDeps) -> None:
    """The face encoding of one enrollment photo (exactly one face), then re-match the past."""
    person = deps.people.get(job.person_id)
    photo = next((p for p in person.photos if p.key == job.photo_key), None) if person else None
    if person is None or photo is None:
        log.info("person.gone", extra={"person_id": job.person_id})
        return
    if photo.status == ENROLLING:
        error = _encode_enrollment(job, deps)
        if error is not None:
            deps.people.photo_failed(person.id, job.photo_key, error)
            log.warning("person.photo_failed", extra={"person_id": person.id, "error": error})
            return
    elif photo.status != ENROLLED:
        return
    # Also on a redelivery of an enrolled photo: the re-match may not have finished the first time.
    rematch(person.id, deps)


def _encode_enrollment(job: PersonPhotoAdded, deps: ProcessorDeps) -> str | None:
    try:
        image, _ = open_oriented(deps.blobs.get(job.photo_key))
    except UnreadableImage as exc:
        return str(exc)
    except MissingObject:
        return "the enrollment photo is missing from the bucket"
    boxes = deps.detector.detect(image)
    if not boxes:
        return "no face found in the photo; send one where the face is clear and upright"
    if len(boxes) > 1:
        return f"{len(boxes)} faces found in the photo; send a photo of this person alone"
    encoding = deps.encoder.encode(image, boxes)[0]
    deps.people.photo_enrolled(job.person_id, job.photo_key, to_bytes(encoding))
    deps.people.bump_version()
    log.info("person.photo_enrolled", extra={"person_id": job.person_id})
    return None


def rematch(person_id: str, deps: ProcessorDeps) -> int:
    """Name the stored unknown faces that are this person (no detection again). Returns photos renamed."""
    deps.known.refresh()
    person = deps.known.people.get(person_id)
    if person is None or not person.encodings:
        return 0
    theirs = FaceIndex((person.id, from_bytes(e)) for e in person.encodings)
    renamed = sum(1 for photo_id in deps.photos.with_unknown_faces() if _rename(photo_id, theirs, deps))
    log.info("person.rematched", extra={"person_id": person_id, "photos": renamed})
    return renamed


def forget(job: PersonDeleted, deps: ProcessorDeps) -> None:
    """Un-name a deleted person's faces (matched again against the people that remain)."""
    deps.known.refresh()
    remaining = deps.known.index
    for photo_id in deps.photos.naming(job.person_id):
        _rename(photo_id, remaining, deps, forgetting=job.person_id)
    log.info("person.forgotten", extra={"person_id": job.person_id})


def _rename(photo_id: str, index: FaceIndex, deps: ProcessorDeps, forgetting: str | None = None) -> bool:
    """Match the photo's unknown faces (and those of ``forgetting``) against ``index``; rewrite its CSV."""
    tolerance = deps.settings.face_tolerance

    def renamed(photo: Photo) -> tuple[Face, ...] | None:
        faces = list(photo.faces)
        for i, face in enumerate(faces):
            if face.encoding is None or face.person_id not in (None, forgetting):
                continue
            match = index.match(from_bytes(face.encoding), tolerance)[0]
            if match.person_id is not None or face.person_id is not None:
                faces[i] = Face(face.box, match.person_id, match.distance if match.person_id else None, face.encoding)
        return tuple(faces) if faces != list(photo.faces) else None

    with photo_context(photo_id):
        photo = deps.photos.change_faces(photo_id, renamed)
        if photo is None:
            return False
        if photo.results_key:
            deps.blobs.put(photo.results_key, results_csv(photo.faces, deps.known.people), "text/csv")
        log.info("photo.renamed", extra={"named": sum(1 for f in photo.faces if f.person_id)})
    return True
