"""Several form uploads with an email at once (receipts.py, claims.py), through Flask's client against a real
moto server: uploads sent with ``batch=1`` leave the session cookie alone and answer a receipt; one claim adds
them all to the session, so overlapping answers can no longer write back a cookie missing photos."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from photolane_upload import claims
from photolane_upload.receipts import RECEIPT_SECONDS
from photolane_upload.sessions import MAX_UPLOADS_REMEMBERED

from ..conftest import form_token, form_upload, image_bytes

EMAIL = "alice@example.com"


def _gallery_ids(client: FlaskClient) -> list[str]:
    page = client.get("/gallery")
    assert page.status_code == 200, page.status_code
    return re.findall(r'<article id="photo-([0-9a-f-]+)"', page.get_data(as_text=True))


def _cookies(answer: Any) -> list[str]:
    return [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("photolane_session=")]


def _claim(client: FlaskClient, receipts: list[str], email: str = EMAIL, token: str | None = None, **form: str) -> Any:
    data = {"email": email, "receipt": receipts, "csrf_token": token or form_token(client), **form}
    return client.post("/uploads/claim", data=data, headers={"Accept": "application/json"})


def _batch_upload(client: FlaskClient, token: str, email: str = EMAIL, **form: str) -> Any:
    """What the page sends for each of several photos: the form's fields, ``batch=1``, JSON asked for."""
    body = {"file": (io.BytesIO(image_bytes()), "one.jpg"), "csrf_token": token, "email": email, "batch": "1", **form}
    return client.post("/photos", data=body, content_type="multipart/form-data", headers={"Accept": "application/json"})


def _open(client: FlaskClient, email: str = EMAIL) -> str:
    """The page's claim of nothing before a batch: the session follows the email; its form token comes back."""
    opened = _claim(client, [], email)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert opened.get_json()["claimed"] == []
    return opened.get_json()["csrf_token"]


def test_uploads_sent_together_leave_the_cookie_alone_and_one_claim_adds_them_all(client: FlaskClient) -> None:
    token = _open(client)  # a browser without a session gets one, with a form token
    sent = [_batch_upload(client, token) for _ in range(3)]
    assert all(a.status_code == 202 for a in sent), [a.get_data(as_text=True) for a in sent]
    assert all(_cookies(a) == [] for a in sent)  # none can write back a cookie missing the others' photos
    ids = [a.get_json()["id"] for a in sent]
    assert _gallery_ids(client) == []  # not in the gallery before they are claimed
    claimed = _claim(client, [a.get_json()["receipt"] for a in sent], token=token)
    assert claimed.status_code == 200 and len(_cookies(claimed)) == 1  # one answer sets the cookie, once
    assert claimed.get_json()["claimed"] == ids and claimed.get_json()["refused"] == 0
    assert _gallery_ids(client) == list(reversed(ids))  # newest first, as single uploads show
    assert 'id="delete-photo"' in client.get(f"/photos/{ids[0]}").get_data(as_text=True)  # theirs to delete
    assert 'id="delete-photo"' not in client.application.test_client().get(f"/photos/{ids[0]}").get_data(as_text=True)

    # Claimed again (a page that sent a receipt twice): each photo stays once; a single upload still works.
    assert _claim(client, [sent[0].get_json()["receipt"]], token=token).get_json()["claimed"] == [ids[0]]
    one = form_upload(client, email=EMAIL, json=True).get_json()
    assert "receipt" not in one  # without batch=1: as before, into the session at once
    assert _gallery_ids(client) == [one["id"], *reversed(ids)]


def test_a_claim_for_another_email_starts_a_new_session(client: FlaskClient) -> None:
    first = form_upload(client, email=EMAIL, json=True).get_json()["id"]
    assert _gallery_ids(client) == [first]
    token = form_token(client)
    receipt = _batch_upload(client, token, email="bob@example.com").get_json()["receipt"]
    claimed = _claim(client, [receipt], email="Bob@Example.com", token=token)  # the page's spelling: any case
    assert claimed.get_json()["claimed"] == [_gallery_ids(client)[0]]
    assert len(_gallery_ids(client)) == 1 and first not in _gallery_ids(client)  # Alice's photo left this gallery
    assert "sign-in link" in client.get("/gallery").get_data(as_text=True)  # unverified: this browser's uploads
    # The session the claim started took the alive one's form token with it: the page's token still works.
    assert _claim(client, [], "bob@example.com", token=token).status_code == 200


def test_only_receipts_this_browser_got_for_this_email_within_the_hour_are_claimed(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, mallory = app.test_client(), app.test_client()
    token = _open(alice)
    receipts = [_batch_upload(alice, token).get_json()["receipt"] for _ in range(2)]
    ids = [r.split(".")[0] for r in receipts]

    # Another browser (another session, its own form token) cannot claim them, nor can anyone alter one.
    stolen = _claim(mallory, receipts)
    assert stolen.status_code == 200 and stolen.get_json() | {"csrf_token": ""} == \
        {"claimed": [], "refused": 2, "csrf_token": ""}
    assert _gallery_ids(mallory) == []  # the claim started Mallory a session of her own, with nothing in it
    photo, issued, mark = receipts[0].split(".")
    forged = [f"{ids[1]}.{issued}.{mark}", f"{photo}.{int(issued) + 1}.{mark}", "not a receipt"]
    assert _claim(alice, forged, token=token).get_json()["refused"] == 3
    # For another email: refused (and a claim is the session following that email, as an upload with it is).
    assert _claim(alice, receipts[:1], email="bob@example.com", token=token).get_json()["claimed"] == []

    # An hour later, the same receipts are refused; the good one among bad ones within the hour is taken.
    token = _open(alice)
    later = time.time() + RECEIPT_SECONDS + 5
    monkeypatch.setattr(claims.time, "time", lambda: later)
    assert _claim(alice, receipts, token=token).get_json() | {"csrf_token": ""} == \
        {"claimed": [], "refused": 2, "csrf_token": ""}
    monkeypatch.undo()
    mixed = _claim(alice, [forged[0], receipts[1]], token=token).get_json()
    assert (mixed["claimed"], mixed["refused"]) == ([ids[1]], 1)
    assert _gallery_ids(alice) == [ids[1]]


def test_a_claim_is_bounded_and_needs_an_email_and_the_forms_token(client: FlaskClient) -> None:
    token = _open(client)
    receipt = _batch_upload(client, token).get_json()["receipt"]
    too_many = _claim(client, [receipt] * (MAX_UPLOADS_REMEMBERED + 1), token=token)
    assert too_many.status_code == 400
    assert too_many.get_json()["error"] == (f"A claim takes at most {MAX_UPLOADS_REMEMBERED} receipts (as many uploads "
                                            "as a browser's gallery remembers); send the rest in another claim.")
    assert _gallery_ids(client) == []  # nothing of a refused claim was taken
    assert _claim(client, [receipt] * MAX_UPLOADS_REMEMBERED, token=token).get_json()["refused"] == 0
    assert _claim(client, [receipt], email="", token=token).get_json()["error"] == \
        "Give the email the photos were sent with."
    bad = _claim(client, [receipt], email="not an email", token=token)
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("Email: ")
    no_token = client.post("/uploads/claim", data={"email": EMAIL, "receipt": [receipt]},
                           headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and "Reload the page" in no_token.get_json()["error"]
    cross = client.post("/uploads/claim", data={"email": EMAIL, "receipt": [receipt], "csrf_token": token},
                        headers={"Accept": "application/json", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.get("/uploads/claim").status_code == 405


def test_a_batch_through_an_upload_link_remembers_the_link_when_claimed(client: FlaskClient, app: Flask) -> None:
    from ..conftest import admin_client

    admin = admin_client(app.test_client())
    for path, form in (("/admin/collections", {"id": "7b", "name": "Class 7B"}),
                       ("/admin/collections/7b/links", {"label": "x"})):
        admin.post(path, data={**form, "csrf_token": form_token(admin, "/admin/collections")})
    page = admin.get("/admin/collections").get_data(as_text=True)
    code = re.search(r'value="http://[^"]+/u/([A-Za-z0-9_-]{32})"', page).group(1)
    token = _open(client)
    sent = _batch_upload(client, token, link=code)
    assert sent.status_code == 202 and _cookies(sent) == []  # not even the link is written by the upload
    _claim(client, [sent.get_json()["receipt"]], token=token, link=code)
    assert f'href="/u/{code}" id="upload-again"' in client.get(sent.get_json()["page"]).get_data(as_text=True)
