"""The admin page and the queue admin API through Flask's client, against a real moto server."""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.settings import CommonSettings

from ..conftest import ADMIN_TOKEN, admin_client, form_token, form_upload, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_POSTS = ["/admin/uploads", "/admin/people", "/admin/people/x/delete", "/admin/queues/jobs/redrive",
               "/admin/queues/jobs/purge", "/admin/logout"]


def _csrf(client: FlaskClient) -> str:
    return form_token(client, "/admin")


def test_every_admin_page_route_is_401_without_the_token(client: FlaskClient) -> None:
    for path in ("/admin", "/admin/export", "/admin/export?format=csv"):
        answer = client.get(path)
        assert answer.status_code == 401 and 'name="token"' in answer.get_data(as_text=True), path
    token = _csrf(client)
    for path in ADMIN_POSTS:
        assert client.post(path, data={"csrf_token": token}).status_code == 401, path
    wrong = client.post("/admin/login", data={"token": "wrong", "csrf_token": token})
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    assert client.get("/admin").status_code == 401


def test_every_admin_api_route_is_401_without_the_bearer_token(client: FlaskClient) -> None:
    calls = [("get", "/api/admin/queues"), ("post", "/api/admin/queues/jobs/redrive"),
             ("post", "/api/admin/queues/jobs/purge"), ("get", "/api/admin/export"), ("put", "/api/admin/uploads"),
             ("get", "/api/admin/uploads"), ("get", "/api/people"), ("post", "/api/people")]
    for method, path in calls:
        assert getattr(client, method)(path).status_code == 401, path
        assert getattr(client, method)(path, headers={"Authorization": "Bearer x"}).status_code == 401, path
    # An admin session cookie does not open the API: it takes the bearer token only.
    admin_client(client)
    assert client.get("/api/admin/queues").status_code == 401


def test_block_and_unblock_from_the_page(client: FlaskClient) -> None:
    admin_client(client)
    assert client.post("/admin/uploads", data={"blocked": "1", "csrf_token": _csrf(client)}).status_code == 303
    assert "blocked" in client.get("/admin").get_data(as_text=True)
    refused = form_upload(client, json=True)
    assert refused.status_code == 503 and "blocked" in refused.get_json()["error"]
    assert 'id="blocked"' in client.get("/").get_data(as_text=True)
    api = client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "x.jpg")},
                      content_type="multipart/form-data")
    assert api.status_code == 503
    client.post("/admin/uploads", data={"blocked": "0", "csrf_token": _csrf(client)})
    assert form_upload(client, json=True).status_code == 202


def test_export_downloads_from_the_page(client: FlaskClient) -> None:
    form_upload(client, email="e@example.com")
    admin_client(client)
    as_json = client.get("/admin/export?format=json")
    assert as_json.status_code == 200 and "attachment" in as_json.headers["Content-Disposition"]
    assert json.loads(as_json.get_data(as_text=True))["photos"][0]["email"] == "e@example.com"
    as_csv = client.get("/admin/export?format=csv")
    assert as_csv.mimetype == "text/csv" and "e@example.com" in as_csv.get_data(as_text=True)


def test_people_enrolled_listed_and_deleted_from_the_page_with_their_input_escaped(
        client: FlaskClient, faces_dir: Path) -> None:
    admin_client(client)
    photo = (faces_dir / "obama_1.jpg").read_bytes()
    sent = client.post("/admin/people", content_type="multipart/form-data", data={
        "name": "<script>alert('n')</script>", "attributes": '{"role": "<b>boss</b>"}',
        "photo": (io.BytesIO(photo), "o.jpg"), "csrf_token": _csrf(client)})
    assert sent.status_code == 303
    page = client.get("/admin").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;n&#39;)&lt;/script&gt;" in page
    assert "<b>boss</b>" not in page and "&lt;b&gt;boss&lt;/b&gt;" in page
    assert "enrolling" in page
    person_id = client.get("/api/people", headers=ADMIN).get_json()["people"][0]["id"]
    bad = client.post("/admin/people", content_type="multipart/form-data", data={
        "name": "", "photo": (io.BytesIO(photo), "o.jpg"), "csrf_token": _csrf(client)}, follow_redirects=True)
    assert "Name is required." in bad.get_data(as_text=True)
    asked = client.post(f"/admin/people/{person_id}/delete", data={"csrf_token": _csrf(client)})
    assert asked.status_code == 200 and 'id="confirm-delete-person"' in asked.get_data(as_text=True)
    assert len(client.get("/api/people", headers=ADMIN).get_json()["people"]) == 1  # one click deletes nobody
    client.post(f"/admin/people/{person_id}/delete", data={"csrf_token": _csrf(client), "confirm": "yes"})
    assert client.get("/api/people", headers=ADMIN).get_json()["people"] == []


def test_user_input_is_escaped_on_every_page(client: FlaskClient) -> None:
    sent = form_upload(client, name="<img src=x onerror=alert(1)>.jpg", email="x@example.com")
    photo_page = client.get(sent.headers["Location"]).get_data(as_text=True)
    gallery = client.get("/gallery").get_data(as_text=True)
    for page in (photo_page, gallery):
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    refused = form_upload(client, email="<script>@x")
    assert "<script>" not in refused.get_data(as_text=True)
    forbidden = client.get("/gallery?email=<script>alert(1)</script>")
    assert "<script>alert" not in forbidden.get_data(as_text=True)
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"


def _dlq_url(stack: Stack, name: str) -> str:
    return aws.client("sqs", CommonSettings()).get_queue_url(QueueName=f"{stack.env[name]}-dlq")["QueueUrl"]


def test_dead_letters_redriven_and_queues_purged(client: FlaskClient, stack: Stack) -> None:
    sqs = aws.client("sqs", CommonSettings())
    dlq = _dlq_url(stack, "PHOTOLANE_JOBS_QUEUE")
    for n in range(12):  # more than one batch of ten
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))
    depths = {q["name"]: q for q in client.get("/api/admin/queues", headers=ADMIN).get_json()["queues"]}
    assert depths["jobs"]["dead_letters"] == 12 and depths["notifications"]["dead_letters"] == 0
    assert depths["jobs"]["dead_letter_queue"] == f"{stack.env['PHOTOLANE_JOBS_QUEUE']}-dlq"

    admin_client(client)
    page = client.get("/admin").get_data(as_text=True)
    assert '<td class="dead" data-label="dead letters">12</td>' in page
    moved = client.post("/admin/queues/jobs/redrive", data={"csrf_token": _csrf(client)}, follow_redirects=True)
    assert "12 dead letters moved back to jobs." in moved.get_data(as_text=True)
    depths = {q["name"]: q for q in client.get("/api/admin/queues", headers=ADMIN).get_json()["queues"]}
    assert depths["jobs"]["dead_letters"] == 0 and depths["jobs"]["messages"] >= 12

    first = client.post("/admin/queues/jobs/purge", data={"csrf_token": _csrf(client)})
    assert first.status_code == 200 and 'id="confirm-purge"' in first.get_data(as_text=True)
    assert client.get("/api/admin/queues", headers=ADMIN).get_json()["queues"][0]["messages"] >= 12
    client.post("/admin/queues/jobs/purge", data={"csrf_token": _csrf(client), "confirm": "yes"})
    assert client.get("/api/admin/queues", headers=ADMIN).get_json()["queues"][0]["messages"] == 0

    sqs.send_message(QueueUrl=_dlq_url(stack, "PHOTOLANE_NOTIFICATIONS_QUEUE"), MessageBody="x")
    assert client.post("/api/admin/queues/notifications-dlq/purge", headers=ADMIN).status_code == 400
    purged = client.post("/api/admin/queues/notifications-dlq/purge", headers=ADMIN, json={"confirm": True})
    assert purged.status_code == 200
    assert client.post("/api/admin/queues/nope/redrive", headers=ADMIN).status_code == 404
    assert client.post("/api/admin/queues/notifications/redrive", headers=ADMIN).get_json()["moved"] == 0


def test_a_second_app_with_the_same_key_reads_the_same_session(app: Flask, stack: Stack) -> None:
    """Two gunicorn workers are two apps: one signs the cookie, the other reads it."""
    from photolane_upload.app import create_app
    from photolane_upload.settings import UploadSettings

    client = app.test_client()
    form_upload(client, email="w@example.com")
    other = create_app(UploadSettings()).test_client()
    other.set_cookie("photolane_session", client.get_cookie("photolane_session").value)
    assert other.get("/gallery").status_code == 200


def test_an_uncertain_notification_shows_in_the_api_on_the_photo_page_and_on_the_admin_page(
        client: FlaskClient) -> None:
    from datetime import timedelta

    from photolane_common.photos import PhotoStore

    uploader = client
    photo_id = form_upload(uploader, phone="+14155552677").headers["Location"].rsplit("/", 1)[1]
    store = PhotoStore()
    store.claim_delivery(photo_id, "sms", "+14155552677")  # a notifier claimed it, then died
    assert store.mark_uncertain(photo_id, "sms", timedelta(seconds=-1))
    body = uploader.get(f"/api/photos/{photo_id}").get_json()
    assert [(n["channel"], n["status"]) for n in body["notifications"]] == [("sms", "uncertain")]
    assert "may or may not have gone out" in body["notifications"][0]["error"]
    assert "uncertain: its worker stopped" in uploader.get(f"/photos/{photo_id}").get_data(as_text=True)
    page = admin_client(client).get("/admin").get_data(as_text=True)
    assert "1 notification may or may not" in page and f"/photos/{photo_id}" in page
