"""The pages through Flask's client against a real moto server: sessions, gallery, sign-in, CSRF."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.domain import Face, ProcessedImage, Sideways
from photolane_common.models import PhotoModel
from photolane_common.retention import BACKSTOP_DAYS
from photolane_common.settings import CommonSettings
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

from ..conftest import form_token, form_upload, image_bytes


def _messages(stack: Stack, queue_url: str) -> list[dict]:
    sqs = aws.client("sqs", CommonSettings())
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def _gallery_ids(client: FlaskClient) -> list[str]:
    page = client.get("/gallery")
    assert page.status_code == 200, page.status_code
    return re.findall(r'<article id="photo-([0-9a-f-]+)"', page.get_data(as_text=True))


def test_the_form_upload_sets_an_httponly_samesite_session_and_the_api_never_does(client: FlaskClient) -> None:
    sent = form_upload(client, email="a@example.com")
    assert sent.status_code == 303
    cookie = sent.headers["Set-Cookie"]
    assert "photolane_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # PHOTOLANE_COOKIE_SECURE is off here (plain HTTP)
    api = client.application.test_client().post(
        "/api/photos", data={"file": (__import__("io").BytesIO(image_bytes()), "x.jpg"), "email": "a@example.com"},
        content_type="multipart/form-data")
    assert api.status_code == 202 and "Set-Cookie" not in api.headers


def test_a_poll_answered_after_an_upload_never_sets_the_cookie_back(client: FlaskClient) -> None:
    """The upload page polls photo 1 while photo 2 goes up; the poll's answer must carry no cookie, or a poll
    that left before photo 2's answer would set the session back and photo 2 would leave the gallery."""
    first = form_upload(client, email="a@example.com", json=True).get_json()
    second = form_upload(client, email="a@example.com", json=True).get_json()
    poll = client.get(first["url"], headers={"Accept": "application/json"})
    assert poll.status_code == 200 and "Set-Cookie" not in poll.headers
    gallery = client.get("/gallery")
    assert "Set-Cookie" not in gallery.headers
    assert set(_gallery_ids(client)) == {first["id"], second["id"]}


def test_the_live_page_gets_json_answers(client: FlaskClient) -> None:
    sent = form_upload(client, email="a@example.com", json=True)
    assert sent.status_code == 202
    body = sent.get_json()
    assert body["status"] == "queued" and body["url"] == f"/api/photos/{body['id']}"
    assert body["page"] == f"/photos/{body['id']}"
    refused = form_upload(client, b"no image", json=True)
    assert refused.status_code == 400 and "not a readable image" in refused.get_json()["error"]
    page = client.get("/").get_data(as_text=True)
    assert '<script src="/static/upload.js" defer></script>' in page
    script = client.get("/static/upload.js")
    assert script.status_code == 200 and "textContent" in script.get_data(as_text=True)
    assert "innerHTML" not in script.get_data(as_text=True)


def test_each_session_sees_only_its_own_gallery(app: Flask) -> None:
    alice, bob = app.test_client(), app.test_client()
    a1 = form_upload(alice, email="alice@example.com").headers["Location"].rsplit("/", 1)[1]
    a2 = form_upload(alice, email="alice@example.com").headers["Location"].rsplit("/", 1)[1]
    b1 = form_upload(bob, email="bob@example.com").headers["Location"].rsplit("/", 1)[1]
    assert _gallery_ids(alice) == [a2, a1]  # newest first
    assert _gallery_ids(bob) == [b1]

    # Asking for another's gallery is refused, signed in or not.
    assert bob.get("/gallery?email=alice@example.com").status_code == 403
    assert app.test_client().get("/gallery?email=alice@example.com").status_code == 403
    assert app.test_client().get("/gallery").status_code == 303  # no session: to the sign-in page

    # Typing someone else's email at upload does not open their gallery: only what this browser sent.
    b2 = form_upload(bob, email="alice@example.com").headers["Location"].rsplit("/", 1)[1]
    assert _gallery_ids(bob) == [b2]
    assert "sign-in link" in bob.get("/gallery").get_data(as_text=True)

    # A session cookie made with another key is worthless.
    mallory = app.test_client()
    mallory.set_cookie("photolane_session", alice.get_cookie("photolane_session").value[:-3] + "abc")
    assert mallory.get("/gallery").status_code == 303


def test_log_out_ends_the_session(client: FlaskClient) -> None:
    form_upload(client, email="a@example.com")
    assert client.get("/gallery").status_code == 200
    assert client.post("/logout", data={"csrf_token": form_token(client)}).status_code == 303
    assert client.get("/gallery").status_code == 303


def _open_link(client: FlaskClient, link: str) -> Any:
    """What the link's page does: its script posts the fragment (the token) with the page's CSRF token."""
    assert "#" in link and link.split("#")[0].endswith("/signin/open")  # the token never in a request line
    page = client.get("/signin/open")
    assert page.status_code == 200 and '<script src="/static/signin.js"></script>' in page.get_data(as_text=True)
    return client.post("/signin/open", data={"link": link.split("#", 1)[1],
                                             "csrf_token": form_token(client, "/signin/open")})


def _signin_messages(stack: Stack) -> list[dict]:
    return [m["data"] for m in _messages(stack, stack.resources.notifications_queue_url)
            if m["type"] == "signin.requested"]


def test_a_signin_link_opens_the_whole_gallery_in_another_browser(app: Flask, stack: Stack) -> None:
    phone_browser = app.test_client()
    first = form_upload(phone_browser, email="carol@example.com", phone="+14155552699")
    photo_id = first.headers["Location"].rsplit("/", 1)[1]
    _messages(stack, stack.resources.notifications_queue_url)  # (none yet; the processor is not running)

    laptop = app.test_client()
    asked = laptop.post("/signin", data={"email": "Carol@example.com ", "csrf_token": form_token(laptop, "/signin")})
    unknown = laptop.post("/signin", data={"email": "nobody@example.com", "csrf_token": form_token(laptop, "/signin")})
    assert asked.status_code == unknown.status_code == 200
    neutral = re.search(r'id="signin-sent">([^<]+)<', asked.get_data(as_text=True)).group(1)
    assert neutral == re.search(r'id="signin-sent">([^<]+)<', unknown.get_data(as_text=True)).group(1)

    # One message for each: the notifier decides (a link only for the email with photos, one an interval).
    sent = {m["email"]: m for m in _signin_messages(stack)}
    assert sorted(sent) == ["Carol@example.com", "nobody@example.com"]
    assert [sorted(m) for m in sent.values()] == [["email", "link", "valid_seconds"]] * 2  # the same either way
    data = sent["Carol@example.com"]
    assert "phone" not in data  # the email only, never an SMS
    assert data["link"].startswith("http://127.0.0.1:5000/signin/open#")  # PHOTOLANE_PUBLIC_URL, not Host
    assert data["valid_seconds"] == 1800  # PHOTOLANE_SIGNIN_MAX_AGE_SECONDS: the notifier says what it is told

    opened = _open_link(laptop, data["link"])
    assert opened.status_code == 303 and opened.headers["Location"] == "/gallery"
    assert _gallery_ids(laptop) == [photo_id]
    assert "sign-in link" not in laptop.get("/gallery").get_data(as_text=True)  # verified: the whole gallery

    reused = _open_link(app.test_client(), data["link"])  # a link works once
    assert reused.status_code == 400 and "used already" in reused.get_data(as_text=True)
    bad = _open_link(app.test_client(), data["link"][:-4] + "AAAA")
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)


def test_an_attacker_phone_given_with_the_victims_email_never_gets_the_victims_link(app: Flask,
                                                                                     stack: Stack) -> None:
    """Finding 1: upload with email=<victim> and phone=<attacker>, then ask for the victim's link."""
    victim = app.test_client()
    mine = form_upload(victim, email="victim@example.com").headers["Location"].rsplit("/", 1)[1]
    attacker = app.test_client()
    form_upload(attacker, email="victim@example.com", phone="+14155552677")  # the newest photo of that email
    asked = attacker.post("/signin", data={"email": "victim@example.com",
                                           "csrf_token": form_token(attacker, "/signin")})
    assert asked.status_code == 200
    sent = _signin_messages(stack)
    assert len(sent) == 1
    assert sent[0]["email"] == "victim@example.com" and "+14155552677" not in json.dumps(sent[0])
    # The photo's page shows the attacker nothing of the victim's contacts either.
    api = attacker.get(f"/api/photos/{mine}").get_json()
    assert "victim@example.com" not in json.dumps(api)
    assert _gallery_ids(attacker) != [mine] and mine not in _gallery_ids(attacker)


def test_log_out_ends_a_signed_in_session_everywhere_it_was_copied(app: Flask, stack: Stack) -> None:
    form_upload(app.test_client(), email="dora@example.com")
    laptop = app.test_client()
    laptop.post("/signin", data={"email": "dora@example.com", "csrf_token": form_token(laptop, "/signin")})
    assert _open_link(laptop, _signin_messages(stack)[0]["link"]).status_code == 303
    copy = app.test_client()  # the cookie, stolen or synced to another machine
    copy.set_cookie("photolane_session", laptop.get_cookie("photolane_session").value)
    assert copy.get("/gallery").status_code == 200
    assert laptop.post("/logout", data={"csrf_token": form_token(laptop)}).status_code == 303
    assert copy.get("/gallery").status_code == 303  # refused: to the sign-in page
    assert laptop.get("/gallery").status_code == 303


def test_contacts_show_only_to_the_uploaders_session(app: Flask) -> None:
    uploader = app.test_client()
    photo_id = form_upload(uploader, email="erin@example.com", phone="+14155552666").headers["Location"]
    photo_id = photo_id.rsplit("/", 1)[1]
    from photolane_common.photos import PhotoStore

    store = PhotoStore()  # the notifier's record of what it sent
    store.claim_delivery(photo_id, "email", "erin@example.com")
    store.finish_delivery(photo_id, "email", "erin@example.com", None)
    store.claim_delivery(photo_id, "sms", "+14155552666")
    store.finish_delivery(photo_id, "sms", "+14155552666", None)

    def shown(client: FlaskClient, **headers: str) -> dict[str, str]:
        body = client.get(f"/api/photos/{photo_id}", headers=headers).get_json()
        return {n["channel"]: n["to"] for n in body["notifications"]}

    assert shown(uploader) == {"email": "erin@example.com", "sms": "+14155552666"}
    assert shown(app.test_client(), Authorization="Bearer test-admin-token")["email"] == "erin@example.com"
    stranger = shown(app.test_client())
    assert stranger == {"email": "e•••@e•••.com", "sms": "••••••••••66"}
    page = app.test_client().get(f"/photos/{photo_id}").get_data(as_text=True)
    assert "erin@example.com" not in page and "+14155552666" not in page and "e•••@e•••.com" in page
    assert "erin@example.com" in uploader.get(f"/photos/{photo_id}").get_data(as_text=True)


def test_a_photo_sent_in_a_batch_says_so_in_the_api_and_on_its_page(app: Flask) -> None:
    uploader = app.test_client()
    photo_id = form_upload(uploader, email="fay@example.com").headers["Location"].rsplit("/", 1)[1]
    from photolane_common.photos import PhotoStore

    store = PhotoStore()  # the notifier's records (photolane_notifier/batching.py)
    note = "to go in one message with the other photos sent to this recipient within 2 minutes"
    assert store.batch_delivery(photo_id, "email", "fay@example.com", "batch:email:x:1", None, note)
    waiting = uploader.get(f"/api/photos/{photo_id}").get_json()["notifications"]
    assert [(n["status"], n["note"]) for n in waiting] == [("batched", note)]
    assert f"batched {note}" in uploader.get(f"/photos/{photo_id}").get_data(as_text=True)

    done = "in one message with 17 other photos"
    assert store.record_batched(photo_id, "email", "batch:email:x:1", "sent", None, done, datetime.now(UTC))
    assert not store.record_batched(photo_id, "email", "batch:email:x:1", "uncertain", None, None)  # final
    (sent,) = uploader.get(f"/api/photos/{photo_id}").get_json()["notifications"]
    assert (sent["status"], sent["note"], sent["error"]) == ("sent", done, None) and sent["sent_at"]
    assert f"sent {done}" in uploader.get(f"/photos/{photo_id}").get_data(as_text=True)


def test_an_expired_signin_link_is_refused_clearly(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed

    from photolane_upload.signin import make_token

    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 7200)
    key = app.extensions["photolane"].settings.session_key.get_secret_value()
    token = make_token(key, "a@example.com")
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    answer = _open_link(app.test_client(), f"http://x/signin/open#{token}")
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)


def test_every_form_needs_its_csrf_token(client: FlaskClient) -> None:
    import io

    posts = {
        "/photos": {"file": (io.BytesIO(image_bytes()), "x.jpg")},
        "/signin": {"email": "a@example.com"},
        "/signin/open": {"link": "x"},
        "/logout": {},
        "/admin/login": {"token": "test-admin-token"},
    }
    for path, data in posts.items():
        answer = client.post(path, data=data, content_type="multipart/form-data")
        assert answer.status_code == 400, path
        assert "Reload the page" in answer.get_data(as_text=True)
    wrong = client.post("/signin", data={"email": "a@example.com", "csrf_token": "forged"})
    assert wrong.status_code == 400


def test_the_gallery_follows_uploads_and_processing_through_its_cache(app: Flask) -> None:
    client = app.test_client()
    deps = app.extensions["photolane"]
    first = form_upload(client, email="d@example.com").headers["Location"].rsplit("/", 1)[1]
    page = client.get("/gallery").get_data(as_text=True)
    assert "queued" in page and 'http-equiv="refresh"' in page  # still pending: the page refreshes

    deps.photos.mark_processing(first)
    person = deps.people.create("person-1", "Ada Lovelace", {}, "people/person-1/a.jpg")
    deps.photos.mark_processed(first, ProcessedImage(f"flipped/{first}.jpg", f"thumbs/{first}.jpg",
                                                     f"results/{first}.csv", 64, 48, (Face((1, 2, 3, 0), person.id),)))
    page = client.get("/gallery").get_data(as_text=True)
    assert "processed" in page
    assert f'In it: <a class="person" href="/gallery?person={person.id}">Ada Lovelace</a>' in page  # her photos
    card = re.search(rf'<article[^>]* id="photo-{first}".*?</article>', page, re.S)
    assert card, "no card for the photo"
    assert f'href="/photos/{first}"' in card.group(0)  # the card opens the photo's page (the full images)
    assert re.search(rf'<img src="[^"]*thumbs/{first}\.jpg[^"]*" alt="me.jpg — Ada Lovelace"', card.group(0))
    hits = deps.gallery.stats["hit"]
    client.get("/gallery")
    assert deps.gallery.stats["hit"] == hits + 1

    second = form_upload(client, email="d@example.com").headers["Location"].rsplit("/", 1)[1]
    assert _gallery_ids(client) == [second, first]  # written through: at once


def test_the_gallery_pages_by_date_so_a_flood_never_hides_the_owners_photos(stack: Stack,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from photolane_upload.app import create_app
    from photolane_upload.settings import UploadSettings

    from ..conftest import SESSION_KEY

    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1, gallery_size=3))
    app.config["TESTING"] = True
    own = [form_upload(app.test_client(), email="dora@example.com").headers["Location"].rsplit("/", 1)[1]
           for _ in range(2)]
    junk = [form_upload(app.test_client(), email="dora@example.com").headers["Location"].rsplit("/", 1)[1]
            for _ in range(5)]
    _messages(stack, stack.resources.notifications_queue_url)
    owner = app.test_client()
    owner.post("/signin", data={"email": "dora@example.com", "csrf_token": form_token(owner, "/signin")})
    assert _open_link(owner, _signin_messages(stack)[-1]["link"]).status_code == 303

    pages, url = [], "/gallery"
    while url:
        text = owner.get(url).get_data(as_text=True)
        pages.append(re.findall(r'<article id="photo-([0-9a-f-]+)"', text))
        older = re.search(r'id="older" href="([^"]+)"', text)
        url = older.group(1).replace("&amp;", "&") if older else ""
    assert pages == [junk[::-1][:3], [*junk[::-1][3:], own[1]], [own[0]]]  # newest first, every photo once
    assert "Older photos sent with" in text and 'id="newest"' in text

    cursor = re.search(r"older=([^\"&]+)", owner.get("/gallery").get_data(as_text=True)).group(1)
    stranger = app.test_client()  # someone else's session with Dora's cursor sees only their own gallery
    form_upload(stranger, email="eve@example.com")
    assert re.findall(r'<article id="photo-', stranger.get(f"/gallery?older={cursor}").get_data(as_text=True)) == []
    forged = owner.get("/gallery?older=eyJpZCI6IHsiUyI6ICJ4In19")
    assert forged.status_code == 400 and "not one this site made" in forged.get_data(as_text=True)


def test_every_page_has_an_icon_and_the_browsers_path_answers_it(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = client.get(path)
        assert icon.status_code == 200 and icon.data.startswith(b"<svg") and "svg" in icon.content_type


def test_the_upload_page_states_the_retention_and_each_record_carries_its_backstop(
        client: FlaskClient, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """PHOTOLANE_RETENTION_DAYS set: "Photos are kept N days." by the form, and each upload's record
    expires (the table's TTL) a backstop's days after the sweep should have erased it; unset: neither."""
    def upload_expiry(app_client: FlaskClient) -> tuple[str, float | None]:
        page = app_client.get("/").get_data(as_text=True)
        sent = form_upload(app_client, json=True)
        assert sent.status_code == 202, sent.get_data(as_text=True)
        record = PhotoModel.get(sent.get_json()["id"])
        expected = record.created_at + timedelta(days=30 + BACKSTOP_DAYS)
        return page, None if record.expires_at is None else record.expires_at - expected.timestamp()

    page, expiry = upload_expiry(client)
    assert "Photos are kept" not in page and 'id="retention"' not in page and expiry is None

    monkeypatch.setenv("PHOTOLANE_RETENTION_DAYS", "30")
    kept = create_app(UploadSettings(max_upload_mb=1))
    kept.config["TESTING"] = True
    page, expiry = upload_expiry(kept.test_client())
    assert re.search(r'<p class="muted" id="retention">Photos are kept 30 days\.</p>', page)
    assert page.index('id="retention"') > page.index('id="upload-form"')  # by the form
    assert expiry is not None and abs(expiry) < 1


def test_a_photo_processed_sideways_says_how_to_turn_it_on_its_page_and_in_the_api(app: Flask,
                                                                                   client: FlaskClient) -> None:
    deps = app.extensions["photolane"]
    sideways, upright = (form_upload(client).headers["Location"].rsplit("/", 1)[1] for _ in range(2))
    deps.photos.mark_processed(sideways, ProcessedImage("f", "t", "r", 400, 200, (), Sideways(90, 2)))
    deps.photos.mark_processed(upright, ProcessedImage("f", "t", "r", 400, 200, ()))
    hint = ("This photo looks sideways: turned a quarter clockwise (90° right) it has 2 faces. "
            "Rotate it and upload it again.")
    page = client.get(f"/photos/{sideways}").get_data(as_text=True)
    assert f'<p class="notice" id="sideways" role="status">{hint}</p>' in page and "0 faces found." in page
    assert client.get(f"/api/photos/{sideways}").get_json()["sideways"] == {"turn": 90, "faces": 2, "hint": hint}
    assert 'id="sideways"' not in client.get(f"/photos/{upright}").get_data(as_text=True)
    assert client.get(f"/api/photos/{upright}").get_json()["sideways"] is None
