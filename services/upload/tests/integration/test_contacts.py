"""``POST /api/contacts/check``: the upload page's check of the email and phone before it sends any file,
through Flask's client against a real moto server. Its answers are the upload's own sentences; it stores
nothing; it is counted per client like the uploads."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from photolane.testing import Stack
from photolane_upload.app import create_app
from photolane_upload.openapi import openapi_document
from photolane_upload.settings import UploadSettings
from photolane_upload.web import sentence

from ..conftest import ADMIN_TOKEN, SESSION_KEY, form_upload, image_bytes
from .test_openapi import conforms

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PATH = "/api/contacts/check"


def _check(client: FlaskClient, headers: dict[str, str] | None = None, **body: Any) -> TestResponse:
    return client.post(PATH, json=body, headers=headers or {})


def _upload(client: FlaskClient, headers: dict[str, str] | None = None, **fields: str) -> TestResponse:
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "me.jpg"), **fields},
                       content_type="multipart/form-data", headers=headers or {})


def _app(monkeypatch: pytest.MonkeyPatch, **settings: object) -> Flask:
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1, **settings))
    app.config["TESTING"] = True
    return app


def test_good_contacts_answer_200_normalized_as_the_upload_stores_them(client: FlaskClient, app: Flask) -> None:
    doc = openapi_document(app)
    answer = _check(client, email="  Someone@Example.COM ", phone="+1 (415) 555-2671")
    assert answer.status_code == 200
    assert conforms(doc, answer, PATH, "POST") == {"email": "Someone@example.com", "phone": "+14155552671"}
    # The upload stores exactly that (its contacts, shown in full to the uploader's session: the admin here).
    sent = _upload(client, email="  Someone@Example.COM ", phone="+1 (415) 555-2671").get_json()
    export = client.get("/api/admin/export", headers=ADMIN).get_json()
    stored = next(p for p in export["photos"] if p["id"] == sent["id"])
    assert (stored["email"], stored["phone"]) == ("Someone@example.com", "+14155552671")
    # Either may be left out, empty or null: nothing to tell then.
    for body in ({}, {"email": "", "phone": ""}, {"email": None, "phone": None}, {"email": "  "}):
        nothing = _check(client, **body)
        assert nothing.status_code == 200 and nothing.get_json() == {"email": None, "phone": None}, body
    only = _check(client, phone="+447400123456")  # a UK mobile, no email
    assert only.get_json() == {"email": None, "phone": "+447400123456"}


@pytest.mark.parametrize("fields", [
    {"phone": "555-0123"},  # no country code
    {"phone": "+1 415 555 0123"},  # reserved for films and examples
    {"phone": "+19005550123"},  # premium rate
    {"phone": "+33612345678"},  # a French mobile: not an allowed country
    {"phone": "+1 415 555 26"},  # too short: not a valid number
    {"phone": "call me"},
    {"email": "nobody"},
    {"email": "me@example"},
    {"email": "me@example.com", "phone": "+4420"},  # a good email, a bad phone
])
def test_bad_contacts_answer_400_with_the_sentence_the_upload_would_give(client: FlaskClient, app: Flask,
                                                                         fields: dict[str, str]) -> None:
    answer = _check(client, **fields)
    assert answer.status_code == 400
    error = conforms(openapi_document(app), answer, PATH, "POST")["error"]
    assert error.startswith("phone" if "phone" in fields else "email"), error
    upload = _upload(client, **fields)  # the API's upload: the same status and words
    assert (upload.status_code, upload.get_json()["error"]) == (400, error)
    form = form_upload(client, json=True, **fields)  # the page's form: the same sentence, capitalised
    assert (form.status_code, form.get_json()["error"]) == (400, sentence(error))


def test_the_check_stores_nothing_and_needs_a_json_object_of_strings(client: FlaskClient, app: Flask) -> None:
    doc = openapi_document(app)
    for body in ('"+14155552671"', "[1, 2]", "null", "{nope", '{"email": 5}', '{"phone": ["+14155552671"]}'):
        answer = client.post(PATH, data=body, content_type="application/json")
        assert answer.status_code == 400, body
        assert "send a JSON object" in conforms(doc, answer, PATH, "POST")["error"]
    form = client.post(PATH, data={"email": "me@example.com"})  # a form, not JSON
    assert form.status_code == 400
    assert client.get(PATH).status_code == 405
    assert _check(client, email="me@example.com", phone="+14155552671").status_code == 200
    assert client.get("/api/admin/export", headers=ADMIN).get_json()["photos"] == []  # no photo, no record


def test_the_check_needs_no_csrf_token_but_is_refused_cross_site(client: FlaskClient, app: Flask) -> None:
    """Like the rest of the API it reads no cookie (no CSRF token); a browser request from another site's page is
    refused before anything is counted."""
    client.get("/")  # a session cookie: still no token needed
    assert _check(client, email="me@example.com").status_code == 200
    evil = _check(client, {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, email="me@example.com")
    assert evil.status_code == 403
    conforms(openapi_document(app), evil, PATH, "POST")
    same = _check(client, {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, email="me@example.com")
    assert same.status_code == 200


def test_checks_are_counted_per_client_and_the_admin_is_not(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, uploads_per_client_hour=2, proxy_hops=1)
    client = app.test_client()
    here = {"X-Forwarded-For": "203.0.113.9"}
    assert [_check(client, here, email="me@example.com").status_code for _ in range(2)] == [200, 200]
    refused = _check(client, here, email="me@example.com")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    error = conforms(openapi_document(app), refused, PATH, "POST")["error"]
    assert error.startswith("too many checks of an email and phone from this address: the limit is 2 checks of an "
                            "email and phone an hour; try again in "), error
    assert _check(client, {"X-Forwarded-For": "198.51.100.3"}, email="me@example.com").status_code == 200  # another
    assert _check(client, {**here, **ADMIN}, email="me@example.com").status_code == 200  # the admin: not counted
    assert _upload(client, here).status_code == 202  # uploads have a counter of their own


def test_numbers_that_may_be_landlines_are_counted_as_the_upload_counts_them(stack: Stack,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The check counts a +1 number (mobile or landline: the plan cannot say) as the upload would: so the 429 comes
    before any file is sent, and the files sent afterwards with that number are free."""
    app = _app(monkeypatch, unknown_line_numbers_per_client_hour=1, proxy_hops=1)
    client = app.test_client()
    here = {"X-Forwarded-For": "203.0.113.10"}
    assert _check(client, here, phone="+14155552671").status_code == 200
    assert _check(client, here, phone="+14155552671").status_code == 200  # the same number: free
    assert [_upload(client, here, phone="+14155552671").status_code for _ in range(3)] == [202] * 3  # free too
    refused = _check(client, here, phone="+14155552672")  # a second different one
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    upload = _upload(client, here, phone="+14155552672")
    assert (upload.status_code, upload.get_json()["error"]) == (429, refused.get_json()["error"])
    assert "or upload without a phone" in refused.get_json()["error"]
    assert _check(client, here, phone="+447400123456").status_code == 200  # a UK mobile says what it is
    assert _check(client, {**here, **ADMIN}, phone="+14155552673").status_code == 200  # the admin: not counted
