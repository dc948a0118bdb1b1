"""An in-memory index of face encodings kept current from a change feed (photolane_common.feed).

Starting cold, a processor reads the feed's latest snapshot from the bucket (or, with none, the
whole table once) and the changes since. From then on each ``refresh`` reads the feed's head (one
item), and when it moved, the new entries and the records they name (two batch reads): the work of a
change is the size of the change, whatever the size of the index. The processor also writes a
snapshot now and then (``maybe_snapshot``), one processor at a time, so a cold start never reads more
than ``snapshot_every`` changes.

An erasure (a deleted photo) must leave no copy of its rows behind: it announces the photo (every index
drops its rows: its record says ``erasing``, or is gone), writes a snapshot of the index without them and
deletes every older snapshot (``purge_snapshots``), then turns the feed's entries naming the photo into
tombstones. A reader that meets a tombstone loads the index again (``_Erased``): from a snapshot at least
as new as the tombstone (written after the erasure), else from the table. So no snapshot written later,
by a processor that was behind, brings the rows back.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from photolane_common.aws import BlobStore, MissingObject
from photolane_common.feed import ERASED, ChangeFeed, Snapshot

from .vectors import VectorSet

# A new index's blocks, before its first load fits them to its rows: small (most collections are).
FIRST_BLOCK_ROWS = 1_024

log = logging.getLogger("photolane.processor.index")

INDEX_PREFIX = "index/"
Row = tuple[int, np.ndarray, str | None]  # slot, encoding, tag


class _Erased(Exception):  # noqa: N818 - a signal, not an error
    """A change read from the feed is a tombstone: which rows it changed is unknown, so the index is
    loaded again (from a snapshot at least as new as ``number``, else from the table)."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def snapshot_number(key: str) -> int | None:
    """The change number a snapshot's key starts with (``index/<name>/<number>-<id>.bin``)."""
    head = key.rsplit("/", 1)[-1].split("-", 1)[0]
    return int(head) if head.isdigit() else None


class Source(Protocol):
    """Where the rows come from: the current rows of some ids, or of everything (a full load)."""

    def rows_of(self, ids: list[str]) -> dict[str, list[Row]]: ...

    def all_rows(self) -> Iterator[tuple[str, int, np.ndarray, str | None]]: ...


@dataclass(frozen=True)
class MirrorSettings:
    snapshot_every: int = 1000  # changes since the last snapshot before another is written
    max_replay: int = 50_000  # further behind than this, a cold start reads everything again
    hole_seconds: float = 120.0  # a number with no entry this long is skipped (its change comes again)
    lease_seconds: int = 600  # one snapshot writer at a time, for at most this long


class Mirror:
    def __init__(self, name: str, feed: ChangeFeed, source: Source, blobs: BlobStore,
                 settings: MirrorSettings | None = None, clock: Callable[[], float] = time.monotonic,
                 kind: str | None = None) -> None:
        self.name = name
        self.kind = kind  # what a row is: written into snapshots, and a snapshot of another kind not loaded
        self.feed = feed
        self.source = source
        self.blobs = blobs
        self.settings = settings or MirrorSettings()
        self.clock = clock
        self.vectors = VectorSet(FIRST_BLOCK_ROWS)
        self.number: int | None = None  # the last change applied (None: not loaded yet)
        self.holes: dict[int, float] = {}  # numbers with no entry yet → when first missed
        self.generation = 0  # grows whenever the rows change (a photo matched before may need another look)
        self.holder = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # -- reading the feed --------------------------------------------------------------------------
    def refresh(self) -> int:
        """Apply the changes since the last call; returns how many ids changed."""
        head = self.feed.head()
        if self.number is None or head - self.number > self.settings.max_replay or head < self.number:
            return self._cold(head)
        if head == self.number and not self.holes:
            return 0
        try:
            return self._apply(range(self.number + 1, head + 1), head)
        except _Erased as erased:
            log.info("index.reload", extra={"index": self.name, "reason": "erased", "number": erased.number})
            return self._cold(head, erased.number)

    def _apply(self, numbers: range, head: int) -> int:
        started = time.perf_counter()
        found = self.feed.changes([*numbers, *self.holes])
        erased = [number for number, changed in found.items() if changed == ERASED]
        if erased:
            raise _Erased(max(erased))
        now = self.clock()
        for number in numbers:
            if number not in found:
                self.holes.setdefault(number, now)
        for number in found:
            self.holes.pop(number, None)
        for number, since in list(self.holes.items()):
            if now - since > self.settings.hole_seconds:
                del self.holes[number]
                log.warning("index.hole_skipped", extra={"index": self.name, "number": number})
        ids = sorted(set(found.values()))
        if ids:
            rows = self.source.rows_of(ids)
            for changed in ids:
                self.vectors.replace(changed, rows.get(changed, []))
            self.generation += 1
        self.number = head
        if ids:
            log.info("index.changed", extra={"index": self.name, "ids": len(ids), "number": head,
                                             "rows": len(self.vectors),
                                             "ms": round((time.perf_counter() - started) * 1000, 1)})
        return len(ids)

    def _cold(self, head: int, erased: int = 0) -> int:
        """Load the index: the latest snapshot (if at least as new as the tombstone ``erased``) and the
        changes since, else every row of the table."""
        started = time.perf_counter()
        snapshot = self.feed.snapshot()
        usable = snapshot is not None and 0 <= head - snapshot.number <= self.settings.max_replay
        if snapshot is not None and usable and erased <= snapshot.number:
            try:
                self._load(snapshot)
            except (MissingObject, ValueError, OSError) as exc:
                log.warning("index.snapshot_unreadable", extra={"index": self.name, "key": snapshot.key,
                                                                "error": str(exc)})
            else:
                try:
                    self._apply(range(snapshot.number + 1, head + 1), head)
                except _Erased as tombstone:  # an erasure newer than the snapshot: the table, then
                    log.info("index.reload", extra={"index": self.name, "reason": "erased",
                                                    "number": tombstone.number})
                else:
                    self._loaded("snapshot", started)
                    return len(self.vectors)
        vectors = VectorSet()
        vectors.extend(self.source.all_rows())  # head was read first: changes meanwhile come again
        self.vectors, self.number, self.holes = vectors.fitted(), head, {}
        self.generation += 1
        self._loaded("table", started)
        return len(self.vectors)

    def _load(self, snapshot: Snapshot) -> None:
        with tempfile.TemporaryFile() as file:
            self.blobs.download(snapshot.key, file)
            file.seek(0)
            vectors, meta = VectorSet.load(file)
        if meta.get("kind") != self.kind:
            raise ValueError(f"the snapshot holds rows of kind {meta.get('kind')}, not {self.kind}")
        now = self.clock()
        self.vectors, self.number = vectors, snapshot.number
        self.holes = {number: now for number in snapshot.holes}
        self.generation += 1

    def _loaded(self, source: str, started: float) -> None:
        log.info("index.loaded", extra={"index": self.name, "from": source, "rows": len(self.vectors),
                                        "number": self.number, "mb": round(self.vectors.nbytes / 2**20, 1),
                                        "s": round(time.perf_counter() - started, 2)})

    # -- writing a snapshot --------------------------------------------------------------------------
    def maybe_snapshot(self) -> bool:
        """Write a snapshot when the latest is ``snapshot_every`` changes old (one processor at a time)."""
        if self.number is None or self.number == 0:
            return False
        latest = self.feed.snapshot()
        if latest is not None and self.number - latest.number < self.settings.snapshot_every:
            return False
        if not self.feed.take_lease(self.holder, self.settings.lease_seconds):
            return False
        try:
            return self.write_snapshot(latest)
        finally:
            self.feed.release_lease(self.holder)

    def write_snapshot(self, previous: Snapshot | None = None) -> bool:
        started = time.perf_counter()
        number = self.number or 0
        key = f"{INDEX_PREFIX}{self.name}/{number:012d}-{uuid.uuid4().hex[:8]}.bin"
        with tempfile.TemporaryFile() as file:
            rows = self.vectors.dump(file, {"index": self.name, "number": number, "kind": self.kind})
            size = file.tell()
            file.seek(0)
            self.blobs.upload(key, file)
        if not self.feed.publish_snapshot(Snapshot(number, key, tuple(sorted(self.holes)))):
            self.blobs.delete(key)  # another processor published a newer one meanwhile
            return False
        if previous is not None and previous.key != key:
            self.blobs.delete(previous.key)
        log.info("index.snapshot_written", extra={"index": self.name, "number": number, "rows": rows,
                                                  "mb": round(size / 2**20, 1),
                                                  "s": round(time.perf_counter() - started, 2)})
        return True

    def purge_snapshots(self) -> int:
        """After rows were dropped for good (an erasure): a snapshot of the index as it is now (current
        with the feed), then every older snapshot object deleted, so none holds the dropped rows.

        Without a lease: a writer that was behind publishes nothing (its number is lower) and deletes its
        own object; one ahead of this has applied the erasure. Returns how many objects were deleted."""
        self.refresh()
        if self.number:
            self.write_snapshot(self.feed.snapshot())  # False: a newer one (written after the erasure) is current
        current = self.feed.snapshot()
        stale = [key for key in self.blobs.keys_under(f"{INDEX_PREFIX}{self.name}/")
                 if current is None or key != current.key and (snapshot_number(key) or 0) <= current.number]
        for key in stale:
            self.blobs.delete(key)
        log.info("index.snapshots_purged", extra={"index": self.name, "deleted": len(stale),
                                                  "current": current.key if current else None})
        return len(stale)
