"""Batches of one recipient's photos, kept in the settings table: one SMS and one email for many photos.

Two kinds of item, both under keys that hash the recipient (an address is never a key as it is):

- ``batch:<channel>:<recipient hash>:<opened ms>``: one batch, its member photo ids (a string set), its
  status (``open`` → ``sending`` → ``sent`` | ``failed`` | ``refused`` | ``uncertain``; an SMS over the
  deployment's ceiling ``deferred`` between), ``due`` (when it is sent: opened + the window), the
  claim's time, the code of its page's link (made by the claim: ``photolane_common.batch_links``) and
  the outcome's error;
- ``batch-open:<channel>:<recipient hash>``: the recipient's newest batch (``current``), where the next
  photo looks first.

Every change is one conditional write: a photo joins only an ``open`` batch, so once claimed (``sending``)
its members are final; claiming, deferring, resuming and finishing hold the claim's time, so of two
workers one acts. See batching.py for the flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from photolane_common.batch_links import new_code
from photolane_common.domain import Channel
from photolane_common.limits import subject_key
from photolane_common.settings import CommonSettings

OPEN, SENDING, DEFERRED = "open", "sending", "deferred"
KEEP_SECONDS = 7 * 86400  # a batch item outlives its window by this much (the table's TTL), then goes


class BatchModel(Model):
    """A batch, or a recipient's pointer to their newest batch (``current``), in the settings table."""

    class Meta:
        table_name = "photolane-settings"

    key = UnicodeAttribute(hash_key=True)
    current = UnicodeAttribute(null=True)  # the pointer: the key of the recipient's newest batch
    photos = UnicodeSetAttribute(null=True)
    status = UnicodeAttribute(null=True)
    due = NumberAttribute(null=True)  # epoch seconds: the batch is sent then
    claimed_at = NumberAttribute(null=True)  # epoch seconds of the claim that sends (or defers) it
    until = NumberAttribute(null=True)  # deferred: the end of the SMS ceiling's window it waits for
    sent_at = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    code = UnicodeAttribute(null=True)  # its page's link, /batches/<code>: set by the claim, kept by retries
    expires_at = NumberAttribute(null=True)  # the table's TTL


def bind(settings: CommonSettings) -> None:
    """Point the batches at the settings table (as photolane_common.models.bind_models does its models)."""
    BatchModel.Meta.table_name = settings.settings_table
    BatchModel.Meta.region = settings.region
    BatchModel.Meta.host = settings.aws_endpoint_url
    BatchModel._connection = None


@dataclass(frozen=True)
class Batch:
    key: str
    photos: frozenset[str]
    status: str
    due: float
    claimed_at: float | None = None
    until: float | None = None
    sent_at: float | None = None
    error: str | None = None
    code: str | None = None
    expires_at: int | None = None


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class BatchStore:
    """The batches, on DynamoDB; ``clock`` (epoch seconds) is the batches' time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def get(self, key: str) -> Batch | None:
        try:
            item = BatchModel.get(key, consistent_read=True)
        except BatchModel.DoesNotExist:
            return None
        if item.status is None:
            return None
        return Batch(item.key, frozenset(item.photos or ()), item.status, float(item.due or 0),
                     _float(item.claimed_at), _float(item.until), _float(item.sent_at), item.error, item.code,
                     int(item.expires_at) if item.expires_at is not None else None)

    def open_for(self, channel: Channel, to: str, window_seconds: int) -> str:
        """The key of the recipient's open batch on this channel, or of a new one (opened now, sent
        ``window_seconds`` later). The new item is written before the pointer names it, so the pointer
        never names a batch that is not there; two openers at once: one pointer wins, both use it."""
        pointer_key = f"batch-open:{channel}:{subject_key(to)}"
        current = self._current(pointer_key)
        if current is not None:
            batch = self.get(current)
            if batch is not None and batch.status == OPEN:
                return current
        now = self.clock()
        key = f"batch:{channel}:{subject_key(to)}:{int(now * 1000)}"
        expires = int(now) + window_seconds + KEEP_SECONDS
        BatchModel(key, status=OPEN, due=now + window_seconds, expires_at=expires).save(
            condition=BatchModel.key.does_not_exist())
        was = BatchModel.current == current if current is not None else BatchModel.key.does_not_exist()
        try:
            BatchModel(pointer_key, current=key, expires_at=expires).save(condition=was)
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
            return self._current(pointer_key) or key  # another opened one first: everyone joins theirs
        return key

    def _current(self, pointer_key: str) -> str | None:
        try:
            return BatchModel.get(pointer_key, consistent_read=True).current
        except BatchModel.DoesNotExist:
            return None

    def join(self, key: str, photo_id: str) -> bool:
        """Add the photo to the batch while it is open (again: no change); False once it is claimed."""
        return self._update(key, [BatchModel.photos.add({photo_id})], BatchModel.status == OPEN)

    def claim(self, key: str) -> float | None:
        """An open batch claimed to be sent now (its members final from here), with its link's code in
        the same write (a batch is claimed once, so every retry reads the same code): the claim's time
        for one caller, else None."""
        now = self.clock()
        ok = self._update(key, [BatchModel.status.set(SENDING), BatchModel.claimed_at.set(now),
                                BatchModel.code.set(new_code())], BatchModel.status == OPEN)
        return now if ok else None

    def defer(self, key: str, claimed_at: float, until: float, reason: str) -> bool:
        """Our claim (or a deferral of it) waits for the SMS ceiling's window to end."""
        return self._update(key, [BatchModel.status.set(DEFERRED), BatchModel.until.set(until),
                                  BatchModel.error.set(reason)], self._ours(claimed_at))

    def resume(self, key: str, claimed_at: float) -> float | None:
        """A deferred batch claimed again to be sent now: the new claim's time for one caller, else None."""
        now = self.clock()
        waiting = (BatchModel.status == DEFERRED) & (BatchModel.claimed_at == claimed_at)
        # if_not_exists: a batch deferred by a notifier from before links has no code yet; any other keeps its own
        ok = self._update(key, [BatchModel.status.set(SENDING), BatchModel.claimed_at.set(now),
                                BatchModel.until.remove(), BatchModel.error.remove(),
                                BatchModel.code.set(BatchModel.code | new_code())], waiting)
        return now if ok else None

    def finish(self, key: str, claimed_at: float, status: str, error: str | None) -> bool:
        """sent, failed, refused or uncertain: final, written by the one caller holding the claim."""
        actions = [BatchModel.status.set(status), BatchModel.until.remove(),
                   BatchModel.error.set(error) if error else BatchModel.error.remove()]
        if status == "sent":
            actions.append(BatchModel.sent_at.set(self.clock()))
        return self._update(key, actions, self._ours(claimed_at))

    @staticmethod
    def _ours(claimed_at: float) -> object:
        return BatchModel.status.is_in(SENDING, DEFERRED) & (BatchModel.claimed_at == claimed_at)

    @staticmethod
    def _update(key: str, actions: list, condition: object) -> bool:
        try:
            BatchModel(key).update(actions=actions, condition=BatchModel.key.exists() & condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


def _float(value: float | None) -> float | None:
    return float(value) if value is not None else None
