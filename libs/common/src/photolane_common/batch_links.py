"""A batch's link: one page for the photos one SMS or email announced together (the notifier's batches).

The gallery needs a sign-in by email, so an uploader who gave only a phone could not open it; a batch's
message links ``/batches/<code>`` instead. The code is random (96 bits: as unguessable as a photo id,
and whoever holds a photo id sees that photo already), made once when the notifier claims the batch and
kept on it, so a retry links the same page. Before the message goes, the settings table's
``batch-link:<code>`` lists the photos it announces (oldest first), expiring with the batch; the upload
service reads it to show the page. An erasure takes its photo out of the list (``without``), never the
whole item: the batch's other photos stay reachable.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

from pynamodb.exceptions import DoesNotExist

from .models import SettingModel

PREFIX = "batch-link:"
CODE = re.compile(r"[A-Za-z0-9_-]{16}")  # secrets.token_urlsafe(12): 16 characters, nothing else looked up


def new_code() -> str:
    return secrets.token_urlsafe(12)


def is_code(text: str | None) -> bool:
    return bool(text) and CODE.fullmatch(text or "") is not None


class BatchLinks:
    """The link items, in the settings table; ``clock`` (epoch seconds) says what has expired."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def put(self, code: str, photo_ids: list[str], expires_at: int | None) -> None:
        """The photos the batch's message announces (idempotent: a retry writes the same item)."""
        SettingModel(PREFIX + code, value={"photos": list(photo_ids)}, expires_at=expires_at).save()

    def photos_of(self, code: str) -> list[str] | None:
        """The link's photo ids, oldest first; None for a code of the wrong shape (nothing read), one
        unknown, or expired (the table's TTL may take a day or two to delete it)."""
        if not is_code(code):
            return None
        try:
            item = SettingModel.get(PREFIX + code, consistent_read=True)
        except DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= self.clock():
            return None
        photos = (item.value or {}).get("photos") if isinstance(item.value, dict) else None
        return [p for p in photos if isinstance(p, str)] if isinstance(photos, list) else None


def without(item: SettingModel, photo_id: str) -> None:
    """An erased photo out of a link item (``feed.erase_mentions``); the item goes with its last photo."""
    photos = (item.value or {}).get("photos", []) if isinstance(item.value, dict) else []
    kept = [p for p in photos if p != photo_id]
    if kept:
        SettingModel(item.key, value={"photos": kept}, expires_at=item.expires_at).save()
    else:
        item.delete()
