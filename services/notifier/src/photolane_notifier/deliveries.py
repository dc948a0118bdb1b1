"""What every delivery of the notifier takes, one photo's or a batch's (handlers.py, batching.py): its
dependencies, the waits that put a message back, the people named, and why a message may not go out."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Protocol

from photolane_common.batch_links import BatchLinks
from photolane_common.domain import Channel, Photo
from photolane_common.limits import Limiter
from photolane_common.people import PeopleStore
from photolane_common.phones import sms_refusal
from photolane_common.photos import PhotoStore
from photolane_common.worker import RetryLater

from .batches import BatchStore
from .ceiling import SmsCeiling
from .channels import Claims, EventTopic, Outbox, Sender
from .settings import NotifierSettings

log = logging.getLogger("photolane.notifier")

DEFERRED = "deferred"  # an SMS waiting for the deployment's SMS ceiling (ceiling.py) to reopen


class DeliveryInProgress(RetryLater):
    """Another worker holds a live claim on this channel: the message comes back when its lease ends.

    Not a failure: the worker puts the message back with a delay, spending none of its receives, so
    a claim held by a worker that died never sends the message to the dead-letter queue.
    """


class SmsDeferred(RetryLater):
    """The deployment's SMS ceiling is reached: the SMS is recorded ``deferred`` and its message comes
    back (a delayed copy, up to 15 minutes at a time) until the window has reopened. Not a failure."""


class BatchWaiting(RetryLater):
    """The photo waits in a batch (batching.py: one message for a recipient's photos of a few minutes):
    its message comes back, a delayed copy, when the batch is due or its sender is done. Not a failure."""


class Throttle(Protocol):
    def allow(self, key: str, interval_seconds: int) -> bool: ...


@dataclass
class NotifierDeps:
    settings: NotifierSettings
    photos: PhotoStore
    people: PeopleStore
    senders: dict[Channel, Sender]
    claims: Claims
    limiter: Limiter
    throttle: Throttle
    topic: EventTopic | None = None
    outbox: Outbox | None = None
    ceiling: SmsCeiling | None = None  # None: the settings' ceiling, on the limiter (and its clock)
    batches: BatchStore = field(default_factory=BatchStore)
    links: BatchLinks = field(default_factory=BatchLinks)  # the batches' pages (batch-link:<code>)

    def __post_init__(self) -> None:
        if self.ceiling is None:
            self.ceiling = SmsCeiling(self.limiter, *self.settings.sms_ceiling)


def names(photo: Photo, deps: NotifierDeps) -> list[str]:
    ids = list(dict.fromkeys(face.person_id for face in photo.faces if face.person_id))
    people = deps.people.many(ids)
    return [people[i].name for i in ids if i in people]


def pause_for_tests(channel: Channel, to: str, deps: NotifierDeps) -> None:
    """PHOTOLANE_FAULT_PAUSE_AFTER_CLAIM_SECONDS (tests only): a window between claim and send to kill in."""
    pause = deps.settings.fault_pause_after_claim_seconds
    if pause and re.search(deps.settings.fault_pause_after_claim_to, to):
        log.warning("fault.pause_after_claim", extra={"channel": channel, "seconds": pause})
        time.sleep(pause)


def why_not_sent(channel: Channel, to: str, deps: NotifierDeps) -> str | None:
    """Why this message may not go out (a country not allowed for SMS, the recipient's daily limit)."""
    if channel == "sms":
        refusal = sms_refusal(to, deps.settings.sms_country_codes)
        if refusal:
            return refusal
    return over_daily_limit(channel, to, deps)


def over_daily_limit(channel: Channel, to: str, deps: NotifierDeps) -> str | None:
    """Counted per recipient and channel across every notifier task; None while within the limit."""
    limit = deps.settings.daily_limit(channel)
    verdict = deps.limiter.check(limit, to)
    if verdict.allowed:
        return None
    return f"not sent: this recipient had {limit.describe()} already (the limit); the count restarts at 00:00 UTC"
