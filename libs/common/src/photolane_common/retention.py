"""Retention: photos older than ``PHOTOLANE_RETENTION_DAYS`` are erased (unset: kept forever).

The processor's sweep (photolane_processor.retention) is how they go: each expired photo is marked
``erasing`` and erased like a deleted one, with everything made from it. On AWS two backstops act
``BACKSTOP_DAYS`` later, should the sweep have stopped: the photos table's TTL on ``expires_at`` (the
record) and the bucket's lifecycle rules on the photo prefixes (the objects). They are later on purpose:
a record the TTL deleted first would leave its faces and index rows behind, since the erasure works
from the record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BACKSTOP_DAYS = 7  # a week to notice and mend a stopped sweep before the backstops act


def cutoff(now: datetime, days: int) -> datetime:
    """Photos created before this are expired."""
    return now - timedelta(days=days)


def backstop_expiry(created_at: datetime, days: int | None) -> int | None:
    """A record's ``expires_at`` (epoch seconds, the table's TTL): none without retention."""
    if days is None:
        return None
    return int((created_at + timedelta(days=days + BACKSTOP_DAYS)).timestamp())


def kept_sentence(days: int | None) -> str | None:
    """What the upload page says of retention: nothing when photos are kept forever."""
    if days is None:
        return None
    return f"Photos are kept {days} day{'' if days == 1 else 's'}."
