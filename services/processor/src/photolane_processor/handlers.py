"""What the processor does with each job."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from photolane_common.aws import BlobStore, MessageQueue, MissingObject
from photolane_common.domain import PROCESSED, ProcessedImage
from photolane_common.messages import Envelope, PhotoProcessed, PhotoUploaded
from photolane_common.photos import PhotoStore

from .imaging import UnreadableImage
from .pipeline import Detector, render, results_csv
from .settings import ProcessorSettings

log = logging.getLogger("photolane.processor")


@dataclass
class ProcessorDeps:
    settings: ProcessorSettings
    photos: PhotoStore
    blobs: BlobStore
    notifications: MessageQueue
    detector: Detector


def handle(envelope: Envelope, deps: ProcessorDeps) -> None:
    process_photo(envelope.expect(PhotoUploaded), deps)


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
    try:
        outputs = render(deps.blobs.get(job.original_key), deps.detector, deps.settings.thumbnail_px,
                         deps.settings.jpeg_quality)
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
    deps.blobs.put(result.results_key, results_csv(outputs.faces), "text/csv")
    deps.photos.mark_processed(photo.id, result)
    log.info("photo.processed", extra={"faces": len(outputs.faces), "width": outputs.width,
                                       "height": outputs.height, "ms": outputs.timings_ms})
    _notify(deps, photo.id, "processed")


def give_up(envelope: Envelope, error: BaseException, deps: ProcessorDeps) -> None:
    """The last try failed: the uploader learns it now; the message goes to the dead-letter queue."""
    job = envelope.payload()
    if isinstance(job, PhotoUploaded):
        reason = f"processing failed after {deps.settings.max_receives} tries: {error}"
        if deps.photos.mark_failed(job.photo_id, reason):
            _notify(deps, job.photo_id, "failed")


def _notify(deps: ProcessorDeps, photo_id: str, status: str) -> None:
    deps.notifications.send(PhotoProcessed(photo_id=photo_id, status=status))
