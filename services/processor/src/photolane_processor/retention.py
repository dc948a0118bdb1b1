"""The retention sweep: photos older than ``PHOTOLANE_RETENTION_DAYS`` are erased like deleted ones.

At start and once an hour between polls (and on each ``retention.sweep_due``, which on AWS an hourly
schedule sends, so a processor scaled to zero is started for it), each processor queries the photos
table's ``shard-created`` index, shard by shard, for photos created before the cutoff (keys only, no
scan), and for each marks it ``erasing`` and sends its ``photo.deleted``: the erasure (erasure.py)
then removes it with everything made from it, exactly as a deletion by its owner.

Crash-safe and shared: the mark is conditional on the record being unchanged since it was read, so
of several processors sweeping at once one sends the job. A photo already ``erasing`` is left alone
while its job may still be on its way; unchanged for ``PHOTOLANE_RECONCILE_AFTER_SECONDS`` (a sweep
killed between its mark and its message, or a lost job), it is marked and sent again. Repeats are
harmless: an erasure finds the record gone and stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from photolane_common.domain import ERASING
from photolane_common.logs import photo_context
from photolane_common.messages import PhotoDeleted
from photolane_common.photos import PENDING_SHARDS
from photolane_common.retention import cutoff

if TYPE_CHECKING:
    from .handlers import ProcessorDeps

log = logging.getLogger("photolane.processor.retention")
SWEEP_SECONDS = 3600


class RetentionSweep:
    def __init__(self, deps: ProcessorDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self.deps = deps
        self.clock = clock
        self.last: float | None = None

    def tick(self) -> None:
        """Called between polls: sweeps at start, then once an hour (nothing without retention)."""
        if self.deps.settings.retention_days is None:
            return
        if self.last is not None and self.clock() - self.last < SWEEP_SECONDS:
            return
        self.last = self.clock()
        sweep(self.deps)


def sweep(deps: ProcessorDeps, now: datetime | None = None) -> int:
    """Every photo created before the cutoff marked erasing and its erasure sent; returns how many."""
    days = deps.settings.retention_days
    if days is None:
        return 0
    now = now or datetime.now(UTC)
    sharded = deps.photos.shard_undated()  # older records, once per deployment
    before = cutoff(now, days)
    sent = 0
    for shard in range(PENDING_SHARDS):
        for photo_id in deps.photos.created_before(str(shard), before):
            with photo_context(photo_id):
                sent += _expire(photo_id, before, now, deps)
    if sent or sharded:
        log.info("retention.swept", extra={"photos": sent, "sharded": sharded, "days": days})
    return sent


def _expire(photo_id: str, before: datetime, now: datetime, deps: ProcessorDeps) -> int:
    photo = deps.photos.get(photo_id)
    if photo is None or photo.created_at >= before:
        return 0  # erased meanwhile
    in_flight = timedelta(seconds=deps.settings.reconcile_after_seconds)
    if photo.status == ERASING and photo.updated_at > now - in_flight:
        return 0  # its erasure is on its way (a deletion, this sweep or another's)
    if not deps.photos.mark_erasing(photo.id, unchanged_since=photo.updated_at):
        return 0  # gone, or another processor's sweep took it
    assert deps.jobs is not None
    deps.jobs.send(PhotoDeleted(photo_id=photo.id))
    log.info("retention.expired", extra={"created_at": photo.created_at.isoformat(), "status": photo.status})
    return 1
