"""A batch's page, ``/batches/<code>``: the photos one SMS or email announced together (the notifier's
batches, ``photolane_common.batch_links``), for whoever holds the message. The gallery needs a sign-in
by email; this needs only the link, as a photo's page needs only its id, so an uploader who gave only a
phone sees their photos too. It shows what each photo's page shows to anyone (no email or phone), never
a Delete: holding the link proves no ownership."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template

from photolane_common.domain import Photo
from photolane_common.retention import cutoff

from .deps import current_deps
from .erase import shown
from .gallery import Entry
from .gallery_page import days
from .handlers import UploadDeps, gallery_items

batch_pages = Blueprint("batch_pages", __name__)

SHOWN = 100  # the newest photos a page shows: one batch read (a batch of a few minutes rarely has more)


@batch_pages.get("/batches/<code>")
def batch_page(code: str) -> Any:
    deps = current_deps()
    ids = deps.batch_links.photos_of(code)  # a code of the wrong shape: None, and nothing read
    if ids is None:
        return render_template("message.html", title="This link does not work", status=404,
                               message="It has expired (a link to photos sent together works for a week) or it "
                                       "is not complete: a message may have cut it."), 404
    photos = kept(ids[-SHOWN:], deps, datetime.now(UTC))
    items = gallery_items([Entry.of(photo) for photo in photos], deps)
    return render_template("batch.html", days=days(items), photos=items, total=len(ids), shown_at_most=SHOWN)


def kept(photo_ids: list[str], deps: UploadDeps, now: datetime) -> list[Photo]:
    """These photos as still shown, newest first (one batch read): not erased nor being erased, nor past
    ``PHOTOLANE_RETENTION_DAYS`` (expired: the processor's sweep erases them soon)."""
    days_kept = deps.settings.retention_days
    oldest = cutoff(now, days_kept) if days_kept is not None else None
    photos = [p for p in deps.photos.many(photo_ids).values()
              if shown(p) is not None and (oldest is None or p.created_at >= oldest)]
    return sorted(photos, key=lambda p: (p.created_at, p.id), reverse=True)
