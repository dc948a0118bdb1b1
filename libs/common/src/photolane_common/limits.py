"""Abuse limits: counters shared by every worker and task, in the settings table (fixed windows).

One atomic ``UpdateItem ADD`` per event: the count of a key in the current window comes back with
it, so every process of every instance sees the same count, and nothing is read first. And the
throttle: at most one event per key and interval (one conditional write).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import PutError

from .models import SettingModel


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window_seconds``; ``what`` names them for people ("uploads")."""

    name: str
    count: int
    window_seconds: int
    what: str

    def describe(self) -> str:
        return f"{self.count} {self.what} {_per(self.window_seconds)}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends (0 when allowed)


class Counters(Protocol):
    def hit(self, key: str, expires_at: int, amount: int = 1) -> int: ...
    def seen(self, key: str) -> bool: ...
    def mark(self, key: str, expires_at: int) -> None: ...


class DynamoCounters:
    """Counters in the settings table; each dies with its window (the table's TTL on ``expires_at``)."""

    def hit(self, key: str, expires_at: int, amount: int = 1) -> int:
        item = SettingModel(key)
        item.update(actions=[SettingModel.counter.add(amount), SettingModel.expires_at.set(expires_at)])
        return int(item.counter or 0)

    def seen(self, key: str) -> bool:
        try:
            SettingModel.get(key, consistent_read=True)
        except SettingModel.DoesNotExist:
            return False
        return True

    def mark(self, key: str, expires_at: int) -> None:
        SettingModel(key, counter=1, expires_at=expires_at).save()


class Limiter:
    def __init__(self, counters: Counters, clock: Callable[[], float] = time.time) -> None:
        self.counters = counters
        self.clock = clock

    def check(self, limit: Limit, subject: str, cost: int = 1) -> Verdict:
        """Count one event of ``subject`` (an address, a recipient) against ``limit``; ``cost``: what the
        event counts for (an SMS of three parts: 3). Counted even when refused: over the limit, the
        window is spent already."""
        if limit.count <= 0:
            return Verdict(True, 0, 0)
        now = self.clock()
        window = int(now // limit.window_seconds)
        ends = (window + 1) * limit.window_seconds
        key = f"limit:{limit.name}:{subject_key(subject)}:{window}"
        count = self.counters.hit(key, expires_at=ends + 60, amount=max(1, cost))
        if count <= limit.count:
            return Verdict(True, count, 0)
        return Verdict(False, count, max(1, math.ceil(ends - now)))

    def check_distinct(self, limit: Limit, subject: str, item: str) -> Verdict:
        """Count ``item`` (a phone number) against ``subject``'s limit once a window: at most
        ``limit.count`` different items; an item already counted this window is free. The mark is
        written only when the item is allowed, so one refused is refused again when it comes back (two
        at once may both be counted: the limit errs on the strict side)."""
        if limit.count <= 0:
            return Verdict(True, 0, 0)
        window = int(self.clock() // limit.window_seconds)
        mark = f"limit:{limit.name}:{subject_key(subject)}:{subject_key(item)}:{window}"
        if self.counters.seen(mark):
            return Verdict(True, 0, 0)
        verdict = self.check(limit, subject)
        if verdict.allowed:
            self.counters.mark(mark, expires_at=(window + 1) * limit.window_seconds + 60)
        return verdict


class Throttle:
    """At most one event per key and interval, across every worker and instance (one conditional write)."""

    def allow(self, key: str, interval_seconds: int) -> bool:
        if interval_seconds <= 0:
            return True
        now = time.time()
        free = SettingModel.key.does_not_exist() | (SettingModel.counter < now)
        item = SettingModel(key, counter=now + interval_seconds, expires_at=int(now) + interval_seconds + 60)
        try:
            item.save(condition=free)
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def subject_key(subject: str) -> str:
    """Addresses, phones and emails are never stored as they are: a short hash keys the counter."""
    return hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:24]


def _per(seconds: int) -> str:
    return {3600: "an hour", 86400: "a day", 60: "a minute"}.get(seconds, f"per {seconds} s")


def wait_phrase(seconds: int) -> str:
    """'in 40 seconds', 'in 12 minutes', 'in 3 hours'."""
    if seconds < 90:
        return f"in {seconds} seconds"
    if seconds < 90 * 60:
        return f"in {round(seconds / 60)} minutes"
    return f"in {round(seconds / 3600)} hours"
