"""A batch's page, /batches/<code> (the photos of one notifier message), through Flask's client against a
real moto server. The link items are written as the notifier writes them (``BatchLinks.put``)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from photolane.testing import Stack
from photolane_common.batch_links import BatchLinks, new_code
from photolane_common.domain import QUEUED, Face, Photo, ProcessedImage
from photolane_common.models import PhotoModel, SettingModel
from photolane_upload import batch_page
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

PHONE, EMAIL = "+14155552671", "ann@example.com"


def _photo(app: Flask, at: datetime, *faces: Face) -> str:
    """A processed photo sent at ``at`` with a phone and an email, as the processor leaves it."""
    deps, photo_id = app.extensions["photolane"], str(uuid.uuid4())
    deps.photos.create(Photo(photo_id, QUEUED, at, at, "image/jpeg", f"originals/{photo_id}.jpg", email=EMAIL,
                             phone=PHONE, filename=f"beach-{at:%H%M}.jpg"))
    deps.photos.mark_processing(photo_id)
    deps.photos.mark_processed(photo_id, ProcessedImage(f"flipped/{photo_id}.jpg", f"thumbs/{photo_id}.jpg",
                                                        f"results/{photo_id}.csv", 64, 48, faces))
    return photo_id


def _batch(app: Flask, count: int, start: datetime | None = None) -> tuple[str, list[str]]:
    """A batch's link to ``count`` photos a minute apart (oldest first, as the notifier lists them)."""
    start = start or datetime.now(UTC) - timedelta(minutes=10)
    ids = [_photo(app, start + timedelta(minutes=n)) for n in range(count)]
    code = new_code()
    BatchLinks().put(code, ids, int(time.time()) + 3600)
    return code, ids


def _listed(page: str) -> list[str]:
    return re.findall(r'<article id="photo-([0-9a-f-]+)"', page)


def test_the_page_lists_the_batchs_photos_newest_first_each_linking_its_own_page(app: Flask) -> None:
    deps, now = app.extensions["photolane"], datetime.now(UTC)
    rose = str(uuid.uuid4())
    deps.people.create(rose, "Rose Leslie", {}, f"people/{rose}/a.jpg")
    ids = [_photo(app, now - timedelta(minutes=3)),
           _photo(app, now - timedelta(minutes=2), Face((1, 2, 3, 0), person_id=rose), Face((4, 5, 6, 3))),
           _photo(app, now - timedelta(minutes=1))]
    other = _photo(app, now)  # the same phone, another message: not on this page
    code = new_code()
    BatchLinks().put(code, ids, int(time.time()) + 3600)

    answer = app.test_client().get(f"/batches/{code}")  # a browser with no session: the link is enough
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert _listed(page) == list(reversed(ids)) and other not in page
    assert all(f'href="/photos/{photo_id}"' in page for photo_id in ids)
    assert all(f"/thumbs/{photo_id}.jpg" in page for photo_id in ids)  # each card's thumbnail (presigned)
    assert "In it: Rose Leslie" in page and "2 faces" in page and ">processed<" in page
    assert f"beach-{now - timedelta(minutes=2):%H%M}.jpg" in page
    assert 'href="/static/photolane.css"' in page and '<script src="/static/gallery.js" defer></script>' in page
    assert "<script>" not in page  # scripts only from static files (the CSP)
    for contact in (EMAIL, "ann@", "example.com", PHONE, "4155552671", "•"):  # not even masked
        assert contact not in page, contact
    assert "delete" not in page.lower()  # holding the link proves no ownership


def test_an_unknown_or_expired_link_is_a_404_page_that_says_so(app: Flask) -> None:
    client = app.test_client()
    code, _ = _batch(app, 2)
    SettingModel(f"batch-link:{code}", value={"photos": []}, expires_at=int(time.time()) - 1).save()
    for unknown in (new_code(), code):  # never written; expired (the table's TTL not yet run)
        answer = client.get(f"/batches/{unknown}")
        page = answer.get_data(as_text=True)
        assert answer.status_code == 404 and "This link does not work" in page and "has expired" in page
        assert 'class="site-header"' in page and 'href="/static/photolane.css"' in page  # the site's own page


@pytest.mark.parametrize("code", ["short", "a" * 17, "abcdefgh.jklmnop", "%C3%84bcdefghijklmno",
                                  "abcdefghijklmno%00", "..abcdefghijklmn"])
def test_a_malformed_code_is_refused_without_a_read(app: Flask, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("DynamoDB read for a malformed code")

    monkeypatch.setattr(SettingModel, "get", no_read)
    monkeypatch.setattr(PhotoModel, "batch_get", no_read)
    answer = app.test_client().get(f"/batches/{code}")
    assert answer.status_code == 404 and "This link does not work" in answer.get_data(as_text=True)


def test_photos_erased_or_expired_are_left_out(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOLANE_RETENTION_DAYS", "30")
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", "test-session-key-not-a-secret")
    app = create_app(UploadSettings(max_upload_mb=1))
    deps, now = app.extensions["photolane"], datetime.now(UTC)
    expired = _photo(app, now - timedelta(days=31))  # past retention: the sweep erases it soon
    erasing, erased, kept = (_photo(app, now - timedelta(minutes=n)) for n in (3, 2, 1))
    code = new_code()
    BatchLinks().put(code, [expired, erasing, erased, kept], int(time.time()) + 3600)
    assert deps.photos.mark_erasing(erasing)
    deps.photos.delete(erased)

    client = app.test_client()
    assert _listed(client.get(f"/batches/{code}").get_data(as_text=True)) == [kept]
    deps.photos.mark_erasing(kept)
    page = client.get(f"/batches/{code}").get_data(as_text=True)
    assert _listed(page) == [] and 'id="empty"' in page and "were deleted" in page


def test_a_large_batch_shows_its_newest_photos_and_says_so(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_page, "SHOWN", 2)
    code, ids = _batch(app, 3)
    page = app.test_client().get(f"/batches/{code}").get_data(as_text=True)
    assert _listed(page) == [ids[2], ids[1]]
    assert re.search(r'id="batch-more">The newest 2 of the\s+3 photos', page)
