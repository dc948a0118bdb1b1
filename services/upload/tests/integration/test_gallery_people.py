"""The gallery's days, its people (names as links, the person filter, its cursor) and the "Who is this?"
strip, through Flask's client against a real moto server. Photo records are written with the store's
own calls (as the processor writes them), at chosen times, so that days and pages are known."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.domain import QUEUED, Face, Photo, ProcessedImage
from photolane_common.settings import CommonSettings
from photolane_upload.app import create_app
from photolane_upload.gallery import FILTER_EXAMINED
from photolane_upload.settings import UploadSettings

from ..conftest import SESSION_KEY, form_token, form_upload

DAY_ONE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY_TWO = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """Pages of two photos, so that days and people span pages."""
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1, gallery_size=2))
    app.config["TESTING"] = True
    yield app


def _photo(app: Flask, email: str, at: datetime, *faces: Face) -> str:
    """A processed photo of ``email`` sent at ``at``, with these faces."""
    deps, photo_id = app.extensions["photolane"], str(uuid.uuid4())
    deps.photos.create(Photo(photo_id, QUEUED, at, at, "image/jpeg", f"originals/{photo_id}.jpg", email=email,
                             filename=f"{at:%d-%H%M}.jpg"))
    deps.photos.mark_processing(photo_id)
    deps.photos.mark_processed(photo_id, ProcessedImage(f"flipped/{photo_id}.jpg", f"thumbs/{photo_id}.jpg",
                                                        f"results/{photo_id}.csv", 64, 48, faces))
    return photo_id


def _person(app: Flask, name: str) -> str:
    person_id = str(uuid.uuid4())
    app.extensions["photolane"].people.create(person_id, name, {}, f"people/{person_id}/a.jpg")
    return person_id


def _signed_in(app: Flask, stack: Stack, email: str) -> FlaskClient:
    """A browser signed in with the link sent to ``email`` (read from the notifications queue)."""
    client = app.test_client()
    client.post("/signin", data={"email": email, "csrf_token": form_token(client, "/signin")})
    sqs = aws.client("sqs", CommonSettings())
    got = sqs.receive_message(QueueUrl=stack.resources.notifications_queue_url, MaxNumberOfMessages=10,
                              WaitTimeSeconds=1).get("Messages", [])
    link = next(m["data"]["link"] for m in map(lambda g: json.loads(g["Body"]), got)
                if m["type"] == "signin.requested" and m["data"]["email"] == email)
    opened = client.post("/signin/open", data={"link": link.split("#", 1)[1],
                                               "csrf_token": form_token(client, "/signin/open")})
    assert opened.status_code == 303, opened.get_data(as_text=True)
    return client


def _page(client: FlaskClient, url: str) -> tuple[str, list[str]]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.status_code
    text = answer.get_data(as_text=True)
    return text, re.findall(r'<article id="photo-([0-9a-f-]+)"', text)


def _days(text: str) -> list[str]:
    return re.findall(r'<h2 class="day"><time datetime="([\d-]+)" data-day>', text)


def _older(text: str) -> str | None:
    found = re.search(r'id="older" href="([^"]+)"', text)
    return found.group(1).replace("&amp;", "&") if found else None


def test_photos_are_headed_by_day_and_a_day_split_by_a_page_is_headed_again(app: Flask, stack: Stack) -> None:
    first = _photo(app, "dora@example.com", DAY_ONE)
    second = _photo(app, "dora@example.com", DAY_ONE + timedelta(hours=3))
    third = _photo(app, "dora@example.com", DAY_TWO)
    dora = _signed_in(app, stack, "dora@example.com")

    text, ids = _page(dora, "/gallery")
    assert ids == [third, second] and _days(text) == ["2026-03-02", "2026-03-01"]
    assert ">Monday 2 March 2026</time></h2>" in text  # the UTC day, until the page's script makes it local
    assert '<script src="/static/gallery.js" defer></script>' in text
    # each card's time alone, under its day (the script shows it in local time)
    assert f'<time datetime="{DAY_TWO.isoformat()}" data-style="time">2026-03-02 09:00 UTC</time>' in text
    # the day's heading comes before its cards and after the previous day's
    assert text.index("2026-03-02\" data-day") < text.index(third) < text.index("2026-03-01\" data-day") \
        < text.index(f'id="photo-{second}"')

    text, ids = _page(dora, _older(text))
    assert ids == [first] and _days(text) == ["2026-03-01"]  # its day again, on the next page
    assert _older(text) is None


def test_names_link_to_their_photos_and_the_filter_pages_with_its_cursor(app: Flask, stack: Stack) -> None:
    ada, bob = _person(app, "Ada Lovelace"), _person(app, "Bob Hope")
    with_ada = [_photo(app, "dora@example.com", DAY_ONE + timedelta(hours=h), Face((1, 2, 3, 0), ada))
                for h in (0, 2)]
    with_both = _photo(app, "dora@example.com", DAY_ONE + timedelta(hours=4), Face((1, 2, 3, 0), bob),
                       Face((5, 6, 7, 4), ada))
    nobody = [_photo(app, "dora@example.com", DAY_TWO + timedelta(hours=h), Face((1, 2, 3, 0))) for h in (0, 1)]
    dora = _signed_in(app, stack, "dora@example.com")

    text, ids = _page(dora, "/gallery")
    assert ids == nobody[::-1]
    # whom to filter by: the people named in her photos (the newest page's and this page's)
    assert 'id="person-filter"' not in text  # nobody named on her newest page: no filter offered yet
    text, ids = _page(dora, _older(text))
    assert ids == [with_both, with_ada[1]]
    assert (f'In it: <a class="person" href="/gallery?person={bob}">Bob Hope</a>, '
            f'<a class="person" href="/gallery?person={ada}">Ada Lovelace</a>') in text
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', text) == [
        ("", "Everyone"), (ada, "Ada Lovelace"), (bob, "Bob Hope")]

    # Her photos of Ada: the cached first page has none, its cursor goes on to the older ones, filtered.
    text, ids = _page(dora, f"/gallery?person={ada}")
    assert ids == [] and 'id="filtered"' in text
    older = _older(text)
    assert older and f"person={ada}" in older
    text, ids = _page(dora, older)
    assert ids == [with_both, with_ada[1]] and "Photos of <strong>Ada Lovelace</strong>" in text
    assert f'<option value="{ada}" selected>Ada Lovelace</option>' in text
    text, ids = _page(dora, _older(text))
    assert ids == [with_ada[0]] and _older(text) is None  # to the end, each photo of her once
    assert 'id="newest" href="/gallery?person=' + ada in text

    text, ids = _page(dora, f"/gallery?person={bob}&older={older.split('older=')[1].split('&')[0]}")
    assert ids == [with_both]  # the same cursor, another person
    assert _page(dora, "/gallery?person=")[1] == nobody[::-1]  # "Everyone": no filter


def test_a_person_of_another_gallery_shows_nothing_and_leaks_nothing(app: Flask, stack: Stack) -> None:
    secret = _person(app, "Carl Secret")
    ada = _person(app, "Ada Lovelace")
    eves = _photo(app, "eve@example.com", DAY_ONE, Face((1, 2, 3, 0), secret))
    doras = [_photo(app, "dora@example.com", DAY_TWO + timedelta(hours=h), Face((1, 2, 3, 0), ada))
             for h in range(3)]
    dora = _signed_in(app, stack, "dora@example.com")

    text, ids = _page(dora, f"/gallery?person={secret}")
    assert ids == [] and "Carl Secret" not in text and eves not in text
    assert "Photos of this person" in text and "None of the photos looked at so far name them" in text
    older = _older(text)  # her own gallery has more pages: looked through, still nothing of his
    while older:
        text, ids = _page(dora, older)
        assert ids == [] and "Carl Secret" not in text and eves not in text
        older = _older(text)
    assert "None of your photos here name this person" in text  # the end of her gallery
    assert secret not in _page(dora, "/gallery")[0]  # never offered in the filter
    for bad in ("../x", "x" * 65, "a b"):
        text, ids = _page(dora, f"/gallery?person={bad}")
        assert ids == [] and "None of your photos" in text
    forged = dora.get(f"/gallery?person={ada}&older=eyJpZCI6IHsiUyI6ICJ4In19")
    assert forged.status_code == 400

    # A browser that only uploaded with Dora's email (unverified) sees its own photos of Ada, no others.
    uploader = app.test_client()
    own = form_upload(uploader, email="dora@example.com").headers["Location"].rsplit("/", 1)[1]
    deps = app.extensions["photolane"]
    deps.photos.mark_processing(own)
    deps.photos.mark_processed(own, ProcessedImage(f"flipped/{own}.jpg", f"thumbs/{own}.jpg",
                                                   f"results/{own}.csv", 64, 48, (Face((1, 2, 3, 0), ada),)))
    text, ids = _page(uploader, f"/gallery?person={ada}")
    assert ids == [own] and not set(doras) & set(re.findall(r"[0-9a-f-]{36}", text))
    older = _older(text)
    while older:
        text, ids = _page(uploader, older)
        assert ids == [] and not set(doras) & set(re.findall(r"[0-9a-f-]{36}", text))
        older = _older(text)


def test_the_filter_reads_a_bounded_number_of_photos_a_page(app: Flask, stack: Stack) -> None:
    ada = _person(app, "Ada Lovelace")
    deps = app.extensions["photolane"]
    owner = "flood@example.com"
    photos = deps.photos
    found, cursor = photos.owned_page_naming(owner, ada, 2, None, FILTER_EXAMINED)
    assert (found, cursor) == ([], None)  # nothing at all: no cursor
    kept = _photo(app, owner, DAY_ONE, Face((1, 2, 3, 0), ada))
    for hour in range(5):
        _photo(app, owner, DAY_TWO + timedelta(hours=hour))
    found, cursor = photos.owned_page_naming(owner, ada, 2, None, 3)  # reads 3 of 6: stops, short and empty
    assert found == [] and cursor
    pages = []
    while cursor:  # the rest, 3 photos read a page
        found, cursor = photos.owned_page_naming(owner, ada, 2, cursor, 3)
        pages.append([p.id for p in found])
    assert pages in ([[kept]], [[kept], []])  # (DynamoDB may give a cursor at the very end: one empty page)


def test_who_is_this_asks_about_the_viewers_unknown_faces_with_a_suggestion(app: Flask, stack: Stack) -> None:
    ada = _person(app, "Ada Lovelace")
    asked = _photo(app, "dora@example.com", DAY_TWO, Face((1, 2, 3, 0)),
                   Face((5, 6, 7, 4), suggestion=ada, suggestion_distance=0.5, crop="crops/asked-1.jpg"))
    _photo(app, "dora@example.com", DAY_ONE, Face((1, 2, 3, 0), suggestion=ada, rejected=(ada,)))  # said no
    _photo(app, "eve@example.com", DAY_ONE, Face((1, 2, 3, 0), suggestion=ada, crop="crops/eves.jpg"))
    dora = _signed_in(app, stack, "dora@example.com")

    text, _ = _page(dora, "/gallery")
    strip = re.search(r'<section class="card who-strip" id="who-strip".*?</section>', text, re.S)
    assert strip, "no strip"
    faces = re.findall(r'<a class="who-face" href="([^"]+)">', strip.group(0))
    assert faces == [f"/photos/{asked}#face-item-1"]  # where the photo page's Yes / No are
    assert "Is this <strong>Ada Lovelace</strong>?" in strip.group(0)
    assert re.search(r'<img src="[^"]*crops/asked-1\.jpg[^"]*" alt="Face 2 of 02-0900\.jpg"', strip.group(0))
    assert "eves.jpg" not in text
    assert 'id="who-strip"' not in _page(dora, f"/gallery?person={ada}")[0]  # the first page only

    # Answered (here: the suggestion taken back, as a "No" does): gone at once, though the gallery is cached.
    app.extensions["photolane"].photos.change_faces(
        asked, lambda p: tuple(Face(f.box, rejected=(ada,)) if f.suggestion else f for f in p.faces))
    assert 'id="who-strip"' not in _page(dora, "/gallery")[0]

    # Eve's browser (she uploaded nothing here, never signed in) has no gallery; Eve signed in sees hers.
    eve = _signed_in(app, stack, "eve@example.com")
    text, _ = _page(eve, "/gallery")
    assert "eves.jpg" in text and asked not in text
