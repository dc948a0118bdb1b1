"""Browser requests sent by another site's page are refused (403) before they change anything; clients
that send no such header (the CLI, curl, scripts) and reads pass as before. Against a real moto server."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.settings import CommonSettings
from photolane_upload.app import create_app
from photolane_upload.openapi import openapi_document
from photolane_upload.settings import UploadSettings

from ..conftest import ADMIN_TOKEN, SESSION_KEY, admin_client, form_token, image_bytes
from .test_openapi import conforms

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
SAME = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}  # the test client's own origin


def _api_upload(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "me.jpg"),
                                            "email": "victim@example.com", "phone": "+14155552671"},
                       content_type="multipart/form-data", headers=headers)


def _form_upload(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
    token = form_token(client)  # a real page's token: only the origin is wrong
    return client.post("/photos", data={"file": (io.BytesIO(image_bytes()), "me.jpg"), "csrf_token": token},
                       content_type="multipart/form-data", headers=headers)


def _stored(stack: Stack) -> tuple[list[str], list[dict[str, Any]]]:
    """The originals in the bucket, and the photo jobs on the queue (the S3 test event left out)."""
    settings = CommonSettings()
    listed = aws.client("s3", settings).list_objects_v2(Bucket=settings.bucket, Prefix="originals/")
    received = aws.client("sqs", settings).receive_message(
        QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    jobs = [body for m in received if (body := json.loads(m["Body"])).get("type") == "photo.uploaded"]
    return [o["Key"] for o in listed.get("Contents", [])], jobs


def _refused_as_json(answer: TestResponse) -> None:
    assert answer.status_code == 403, answer.get_data(as_text=True)[:300]
    assert answer.is_json and "another site" in answer.get_json()["error"]


def _refused_as_page(answer: TestResponse) -> None:
    assert answer.status_code == 403 and answer.mimetype == "text/html", answer.get_data(as_text=True)[:300]
    page = answer.get_data(as_text=True)
    assert "Refused" in page and "another site" in page
    assert "Content-Security-Policy" in answer.headers  # the usual headers still go out


def test_a_cross_site_upload_is_refused_and_nothing_is_stored_or_queued(
        client: FlaskClient, app: Flask, stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "photolane.upload.http"):
        _refused_as_json(_api_upload(client, EVIL))
    assert _stored(stack) == ([], [])
    assert client.get("/api/admin/export", headers=ADMIN).get_json()["photos"] == []
    logged = [r for r in caplog.records if r.getMessage() == "request.cross_site_refused"]
    assert len(logged) == 1
    assert (logged[0].path, logged[0].origin_host, logged[0].sec_fetch_site) == ("/api/photos", "evil.example",
                                                                                 "cross-site")
    # and the refusal is what the OpenAPI description says of the route
    conforms(openapi_document(app), _api_upload(client, EVIL), "/api/photos", "POST")


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},  # no Origin at all
    {"Origin": "https://evil.example"},  # an older browser: Origin only
    {"Origin": "null"},  # a sandboxed frame, a data: page, a redirect from elsewhere
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://localhost:8001", "Sec-Fetch-Site": "same-site"},  # another port of our host
    {"Origin": "https://localhost", "Sec-Fetch-Site": "same-site"},  # another scheme
    {"Origin": "http://evil.localhost"},
    {"Origin": "not an origin"},
])
def test_any_foreign_origin_is_refused_on_the_api(client: FlaskClient, stack: Stack,
                                                  headers: dict[str, str]) -> None:
    _refused_as_json(_api_upload(client, headers))
    assert _stored(stack)[0] == []


def test_web_forms_are_refused_from_another_origin(client: FlaskClient) -> None:
    _refused_as_page(_form_upload(client, {"Origin": "https://evil.example"}))
    _refused_as_page(_form_upload(client, {"Origin": "null"}))
    _refused_as_page(client.post("/signin", data={"email": "victim@example.com"}, headers=EVIL))
    _refused_as_page(client.post("/logout", headers=EVIL))
    # a script that asks for JSON (as the upload page's does) gets JSON
    _refused_as_json(_form_upload(client, {**EVIL, "Accept": "application/json"}))
    assert client.get("/api/admin/export", headers=ADMIN).get_json()["photos"] == []


def test_admin_routes_are_refused_from_another_origin_even_with_the_token_or_the_session(client: FlaskClient) -> None:
    _refused_as_json(client.put("/api/admin/uploads", json={"blocked": True}, headers={**ADMIN, **EVIL}))
    _refused_as_json(client.post("/api/collections", json={"id": "x", "name": "X"},
                                 headers={**ADMIN, "Origin": "https://evil.example"}))
    _refused_as_json(client.delete("/api/people/p1", headers={**ADMIN, "Origin": "null"}))
    admin_client(client)
    token = form_token(client, "/admin")
    _refused_as_page(client.post("/admin/uploads", data={"blocked": "1", "csrf_token": token},
                                 headers={"Origin": "https://evil.example"}))
    assert client.get("/api/admin/uploads", headers=ADMIN).get_json() == {"blocked": False}
    assert client.get("/api/collections", headers=ADMIN).get_json()["collections"] == []


def test_our_own_pages_and_clients_without_the_headers_pass(client: FlaskClient, stack: Stack) -> None:
    assert _api_upload(client, {}).status_code == 202  # the CLI, curl, scripts: no Origin, no Sec-Fetch-Site
    assert _api_upload(client, SAME).status_code == 202
    assert _api_upload(client, {"Origin": "http://localhost:80", "Sec-Fetch-Site": "same-site"}).status_code == 202
    assert _api_upload(client, {"Sec-Fetch-Site": "same-site"}).status_code == 202  # no Origin to disagree
    assert _api_upload(client, {"Sec-Fetch-Site": "none"}).status_code == 202
    assert _form_upload(client, SAME).status_code == 303
    assert len(_stored(stack)[0]) == 6
    put = client.put("/api/admin/uploads", json={"blocked": False}, headers={**ADMIN, **SAME})
    assert put.status_code == 200


def test_the_public_url_is_ours_too(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind CloudFront the Host the app sees may not be the public one: PHOTOLANE_PUBLIC_URL's origin passes."""
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1, public_url="https://photos.example/", proxy_hops=1))
    app.config["TESTING"] = True
    client = app.test_client()
    public = {"Origin": "https://photos.example:443", "Sec-Fetch-Site": "same-origin"}
    assert _api_upload(client, public).status_code == 202
    _refused_as_json(_api_upload(client, {"Origin": "http://photos.example"}))  # not the same scheme
    _refused_as_json(_api_upload(client, {"Origin": "https://photos.example:8443"}))
    # the request's own origin, as ProxyFix makes it from the proxy's X-Forwarded-Proto
    behind = {"Origin": "https://localhost", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert _api_upload(client, behind).status_code == 202


def test_reads_from_another_site_still_work(client: FlaskClient) -> None:
    photo = _api_upload(client, {}).get_json()
    assert client.get("/", headers=EVIL).status_code == 200  # a link from another site opens the page
    assert client.get(f"/photos/{photo['id']}", headers=EVIL).status_code == 200
    assert client.get(f"/api/photos/{photo['id']}", headers=EVIL).status_code == 200
    assert client.head("/", headers=EVIL).status_code == 200
    assert client.options("/api/photos", headers=EVIL).status_code == 200  # a preflight is not a change


def test_every_state_changing_operation_documents_the_403(app: Flask) -> None:
    doc = openapi_document(app)
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                assert "another site" in operation["responses"]["403"]["description"], (method, path)
            else:
                assert "403" not in operation["responses"], (method, path)
    upload = doc["paths"]["/api/photos"]["post"]["responses"]["403"]["description"]
    assert upload.startswith("a revoked or expired link")  # the route's own 403, kept
