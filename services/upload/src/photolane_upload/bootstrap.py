"""Wire the upload service's adapters from its settings (the one place that does)."""

from __future__ import annotations

from typing import Any

from photolane_common import aws
from photolane_common.aws import BlobStore, MessageQueue
from photolane_common.collection import CollectionStore
from photolane_common.limits import DynamoCounters, Limiter
from photolane_common.models import bind_models
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore

from .cache import build_cache
from .gallery import Gallery
from .handlers import UploadDeps
from .queues import QueueAdmin
from .settings import UploadSettings
from .switches import Revocations, Switches, UsedLinks
from .upload_links import UploadLinks


class LazyQueue(MessageQueue):
    """A queue found by its name at its first use, not at start: the service starts (and answers
    503) while AWS or the stand-in is out of reach or has not created the queue yet."""

    def __init__(self, sqs: Any, name: str) -> None:  # no super().__init__: the URL comes at first use
        self.sqs = sqs
        self.name = name
        self._url: str | None = None

    @property  # type: ignore[override]
    def url(self) -> str:
        if self._url is None:
            self._url = MessageQueue.named(self.sqs, self.name).url
        return self._url


def build_deps(settings: UploadSettings) -> UploadDeps:
    bind_models(settings)
    s3 = aws.client("s3", settings)
    presigner = s3
    if settings.s3_public_endpoint:
        presigner = aws.client("s3", settings, endpoint_url=settings.s3_public_endpoint)
    sqs = aws.client("sqs", settings)
    photos, people, collections = PhotoStore(), PeopleStore(), CollectionStore()
    return UploadDeps(
        settings=settings,
        photos=photos,
        people=people,
        blobs=BlobStore(s3, settings.bucket, presigner),
        jobs=LazyQueue(sqs, settings.jobs_queue),
        switches=Switches(),
        notifications=LazyQueue(sqs, settings.notifications_queue),
        gallery=Gallery(photos, people, build_cache(settings.memcached), settings.gallery_cache_seconds,
                        settings.gallery_size),
        queues=QueueAdmin(sqs, {"jobs": settings.jobs_queue, "notifications": settings.notifications_queue}),
        limiter=Limiter(DynamoCounters()),
        revocations=Revocations(),
        used_links=UsedLinks(),
        collections=collections,
        upload_links=UploadLinks(collections),
    )
