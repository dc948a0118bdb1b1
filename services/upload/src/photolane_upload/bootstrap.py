"""Wire the upload service's adapters from its settings (the one place that does)."""

from __future__ import annotations

from photolane_common import aws
from photolane_common.aws import BlobStore, MessageQueue
from photolane_common.limits import DynamoCounters, Limiter
from photolane_common.models import bind_models
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore

from .cache import build_cache
from .gallery import Gallery
from .handlers import UploadDeps
from .queues import QueueAdmin
from .settings import UploadSettings
from .switches import Revocations, Switches, Throttle, UsedLinks


def build_deps(settings: UploadSettings) -> UploadDeps:
    bind_models(settings)
    s3 = aws.client("s3", settings)
    presigner = s3
    if settings.s3_public_endpoint:
        presigner = aws.client("s3", settings, endpoint_url=settings.s3_public_endpoint)
    sqs = aws.client("sqs", settings)
    photos, people = PhotoStore(), PeopleStore()
    return UploadDeps(
        settings=settings,
        photos=photos,
        people=people,
        blobs=BlobStore(s3, settings.bucket, presigner),
        jobs=MessageQueue.named(sqs, settings.jobs_queue),
        switches=Switches(),
        notifications=MessageQueue.named(sqs, settings.notifications_queue),
        gallery=Gallery(photos, people, build_cache(settings.memcached), settings.gallery_cache_seconds,
                        settings.gallery_size),
        queues=QueueAdmin(sqs, {"jobs": settings.jobs_queue, "notifications": settings.notifications_queue}),
        throttle=Throttle(),
        limiter=Limiter(DynamoCounters()),
        revocations=Revocations(),
        used_links=UsedLinks(),
    )
