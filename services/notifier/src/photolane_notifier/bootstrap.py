"""Wire the notifier's adapters and worker from its settings."""

from __future__ import annotations

from functools import partial

from botocore.config import Config

from photolane_common import aws
from photolane_common.limits import DynamoCounters, Limiter, Throttle
from photolane_common.models import bind_models
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_common.worker import Worker

from .batches import BatchStore, bind
from .channels import Claims, EmailSender, EventTopic, Outbox, SmsSender
from .deliveries import NotifierDeps
from .handlers import handle
from .settings import NotifierSettings


def build_deps(settings: NotifierSettings) -> NotifierDeps:
    bind_models(settings)
    bind(settings)  # the batches, in the settings table
    # Sends bounded in time, so a live sender always finishes within its claim's lease.
    bounded = Config(connect_timeout=settings.send_connect_timeout_seconds,
                     read_timeout=settings.send_read_timeout_seconds,
                     retries={"total_max_attempts": settings.send_attempts, "mode": "standard"})
    sns = aws.client("sns", settings, config=bounded)
    return NotifierDeps(
        settings=settings,
        photos=PhotoStore(),
        people=PeopleStore(),
        senders={"sms": SmsSender(sns),
                 "email": EmailSender(aws.client("ses", settings, config=bounded), settings.email_from)},
        topic=EventTopic(sns, settings.events_topic_arn) if settings.events_topic_arn else None,
        claims=Claims(),
        limiter=Limiter(DynamoCounters()),
        throttle=Throttle(),
        outbox=Outbox(settings.outbox_dir) if settings.outbox_dir else None,
        batches=BatchStore(),
    )


def build_worker(settings: NotifierSettings, deps: NotifierDeps | None = None) -> Worker:
    deps = deps or build_deps(settings)
    return Worker.on_queue(settings, settings.notifications_queue, partial(handle, deps=deps))
