"""The reconciler: photos that never got through (a process died between a write and its message).

A record is written before its message is sent (upload: record, then job; processor: processed,
then notification). A process that dies in between leaves a record ``queued`` or ``processing``
with no job, or ``processed``/``failed`` with no notification. Every such photo still carries its
``pending`` shard (removed by the notifier once every channel is settled), so each processor, once a
``PHOTOLANE_RECONCILE_INTERVAL_SECONDS``, queries the pending index shard by shard for photos last
changed more than ``PHOTOLANE_RECONCILE_AFTER_SECONDS`` ago and sends their message again: the job
for ``queued``/``processing``, the notification for ``processed``/``failed``. The handlers tolerate a
repeated message, so a photo merely slow is no harm; a conditional write (``nudge``) lets one
reconciler of several send it. While jobs wait in the jobs queue (a backlog), a ``queued`` photo may
simply be waiting its turn: jobs are sent again only once the queue has none waiting.
After ``PHOTOLANE_RECONCILE_MAX_NUDGES`` tries a photo is given up:
failed (never processed) or taken off the index (never notified), with an error in the log.
A photo being erased (``erasing``: its owner or the admin deleted it) gets its ``photo.deleted`` again,
and is never given up: an erasure ends only when its record is gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from photolane_common.domain import ERASING, FAILED, PROCESSED
from photolane_common.logs import photo_context
from photolane_common.messages import PhotoDeleted, PhotoProcessed, PhotoUploaded
from photolane_common.photos import PENDING_SHARDS
from photolane_common.worker import error_code, transient

from .handlers import ProcessorDeps

log = logging.getLogger("photolane.reconciler")


class Reconciler:
    def __init__(self, deps: ProcessorDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self.deps = deps
        self.clock = clock
        self.last: float | None = None
        self.backlog = 0

    def tick(self) -> None:
        """Called between polls: runs once an interval (the first right after start)."""
        interval = self.deps.settings.reconcile_interval_seconds
        if not interval or (self.last is not None and self.clock() - self.last < interval):
            return
        self.last = self.clock()
        self.run_once()

    def run_once(self) -> int:
        """One pass over every shard; returns how many photos were sent on again."""
        settings = self.deps.settings
        cutoff = datetime.now(UTC) - timedelta(seconds=settings.reconcile_after_seconds)
        self.backlog = self._jobs_waiting()
        sent = 0
        for shard in range(PENDING_SHARDS):
            for photo_id in self.deps.photos.stale(str(shard), cutoff):
                with photo_context(photo_id):
                    sent += self._again(photo_id, cutoff)
        if sent:
            log.info("reconcile.done", extra={"photos": sent})
        return sent

    def _jobs_waiting(self) -> int:
        jobs = self.deps.jobs
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        attributes = jobs.sqs.get_queue_attributes(QueueUrl=jobs.url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def _again(self, photo_id: str, cutoff: datetime) -> int:
        deps = self.deps
        photo = deps.photos.get(photo_id)
        if photo is None or photo.pending is None or photo.updated_at >= cutoff:
            return 0  # gone, settled, or changed since the index was read
        finished = photo.status in (PROCESSED, FAILED)
        if not finished and self.backlog:
            return 0  # its job may be waiting in the backlog: once the queue is drained, it is lost
        if not deps.photos.nudge(photo):
            return 0  # another processor's reconciler took it
        if photo.status == ERASING:
            log.warning("reconcile.resent", extra={"status": photo.status, "nudges": photo.nudges + 1,
                                                   "sent": "erasure"})
            deps.jobs.send(PhotoDeleted(photo_id=photo.id))
            return 1
        if photo.nudges >= deps.settings.reconcile_max_nudges:
            log.error("reconcile.gave_up", extra={"status": photo.status, "nudges": photo.nudges})
            if finished:
                deps.photos.settled(photo.id)
            elif deps.photos.mark_failed(photo.id, f"never finished after {photo.nudges} tries"):
                deps.notifications.send(PhotoProcessed(photo_id=photo.id, status=FAILED))
            return 0
        log.warning("reconcile.resent", extra={"status": photo.status, "nudges": photo.nudges + 1,
                                               "sent": "notification" if finished else "job"})
        if finished:
            deps.notifications.send(PhotoProcessed(photo_id=photo.id, status=photo.status))
        else:
            deps.jobs.send(PhotoUploaded(photo_id=photo.id, original_key=photo.original_key))
        return 1


# The collections an idle processor keeps current between polls: the most recently used (any other reads
# its feed when its next photo comes, and is let go when memory is short).
KEEP_CURRENT = 8


class IndexKeeper:
    """Between polls: the face indexes of the collections in use read their feeds (an idle processor
    stays current, so the next photo does not pay for the changes) and, now and then, one processor
    writes their snapshots."""

    def __init__(self, deps: ProcessorDeps, clock: Callable[[], float] = time.monotonic) -> None:
        self.deps = deps
        self.clock = clock
        self.last: float | None = None

    def tick(self) -> None:
        interval = self.deps.settings.index_refresh_seconds
        if self.last is not None and self.clock() - self.last < interval:
            return
        self.last = self.clock()
        for mirror in self.deps.indexes.mirrors(KEEP_CURRENT):
            try:
                mirror.refresh()
                mirror.maybe_snapshot()
            except Exception as exc:
                if not _unreachable(exc):
                    raise
                # AWS (or the stand-in) away: the next tick tries again; the next photo waits for it.
                log.warning("index.refresh_waiting", extra={"index": mirror.name, "error": str(exc)[:200]})
                return


_AWAY = ("ResourceNotFoundException", "NoSuchBucket")  # the stand-in restarting: its resources not back yet


def _unreachable(exc: BaseException | None) -> bool:
    """AWS unreachable, throttling, or its resources not there yet, directly or through pynamodb's wrapping."""
    while exc is not None:
        if transient(exc) or error_code(exc) in _AWAY or getattr(exc, "cause_response_code", None) in _AWAY:
            return True
        exc = getattr(exc, "cause", None) or exc.__cause__
    return False
