"""Wire the processor's adapters and worker from its settings."""

from __future__ import annotations

from functools import partial

from photolane_common import aws
from photolane_common.aws import BlobStore, MessageQueue
from photolane_common.collection import CollectionStore
from photolane_common.models import bind_models
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_common.worker import Worker, wait_for_queue_url

from .faces import FaceDetector, FaceEncoder
from .handlers import ProcessorDeps, give_up, handle
from .known import Indexes
from .mirror import MirrorSettings
from .reconcile import IndexKeeper, Reconciler
from .retention import RetentionSweep
from .settings import ProcessorSettings


def build_deps(settings: ProcessorSettings) -> ProcessorDeps:
    bind_models(settings)
    sqs = aws.client("sqs", settings)
    people, photos = PeopleStore(), PhotoStore()
    blobs = BlobStore(aws.client("s3", settings), settings.bucket)
    mirrors = MirrorSettings(snapshot_every=settings.index_snapshot_every)
    return ProcessorDeps(
        settings=settings,
        photos=photos,
        people=people,
        indexes=Indexes(people, photos, blobs, mirrors, settings.index_max_rows),
        collections=CollectionStore(),
        blobs=blobs,
        # Waits (with a backoff) while the stand-in or the queue is not there yet.
        notifications=MessageQueue(sqs, wait_for_queue_url(sqs, settings.notifications_queue, settings)),
        detector=FaceDetector(settings.detect_max_px, settings.detect_upsample),
        encoder=FaceEncoder(),
        replies=partial(MessageQueue.named, sqs),
        jobs=MessageQueue(sqs, wait_for_queue_url(sqs, settings.jobs_queue, settings)),
    )


def build_worker(settings: ProcessorSettings, deps: ProcessorDeps | None = None) -> Worker:
    deps = deps or build_deps(settings)
    worker = Worker.on_queue(settings, settings.jobs_queue, partial(handle, deps=deps), partial(give_up, deps=deps))
    worker.ticks.append(IndexKeeper(deps).tick)  # between polls: the face indexes kept current
    worker.ticks.append(Reconciler(deps).tick)  # between polls: photos that never got through
    worker.ticks.append(RetentionSweep(deps).tick)  # at start and hourly: photos past PHOTOLANE_RETENTION_DAYS
    return worker
