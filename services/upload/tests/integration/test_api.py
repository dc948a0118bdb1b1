"""The upload API and pages through Flask's client, against a real moto server."""

import io
import json
import os

from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.settings import CommonSettings

from ..conftest import ADMIN_TOKEN, form_token, image_bytes


def _upload(client: FlaskClient, data: bytes, **fields: str):
    return client.post("/api/photos", data={"file": (io.BytesIO(data), "me.jpg"), **fields},
                       content_type="multipart/form-data")


def test_upload_stores_original_record_and_job(client: FlaskClient, stack: Stack) -> None:
    data = image_bytes()
    answer = _upload(client, data, email="me@example.com", phone="+14155552671")
    assert answer.status_code == 202
    body = answer.get_json()
    assert body["status"] == "queued"
    assert answer.headers["Location"] == f"/api/photos/{body['id']}"

    photo = client.get(f"/api/photos/{body['id']}").get_json()
    assert photo["status"] == "queued"
    assert photo["original_url"].startswith(stack.standin.url)
    assert photo["flipped_url"] is None and photo["faces"] == [] and photo["notifications"] == []

    settings = CommonSettings()
    stored = aws.client("s3", settings).get_object(Bucket=settings.bucket, Key=f"originals/{body['id']}.jpg")
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "image/jpeg"
    sqs = aws.client("sqs", settings)
    received = sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1)["Messages"]
    # (the other message is the test event S3 sends when the drop-in notification is set up)
    envelope = next(parsed for m in received if "type" in (parsed := json.loads(m["Body"])))
    assert envelope["type"] == "photo.uploaded"
    assert envelope["data"] == {"photo_id": body["id"], "original_key": f"originals/{body['id']}.jpg"}


def test_bad_fields_are_400_with_a_readable_error(client: FlaskClient) -> None:
    cases = {
        "phone": dict(phone="555-0123"),
        "email": dict(email="nobody"),
    }
    for field, fields in cases.items():
        answer = _upload(client, image_bytes(), **fields)
        assert answer.status_code == 400
        assert field in answer.get_json()["error"]
    assert _upload(client, b"this is not an image").status_code == 400
    missing = client.post("/api/photos", data={}, content_type="multipart/form-data")
    assert missing.status_code == 400
    assert "'file'" in missing.get_json()["error"]


def test_too_large_is_413(client: FlaskClient) -> None:
    big = image_bytes("PNG", size=(1200, 1200), mode="RGB")  # limit here is 1 MB
    noisy = os.urandom(1_300_000)
    answer = _upload(client, big + noisy)
    assert answer.status_code == 413
    assert "1 MB" in answer.get_json()["error"]


def test_unknown_photo_is_404(client: FlaskClient) -> None:
    answer = client.get("/api/photos/does-not-exist")
    assert answer.status_code == 404
    assert "does-not-exist" in answer.get_json()["error"]


def test_admin_blocks_and_unblocks_uploads(client: FlaskClient) -> None:
    assert client.put("/api/admin/uploads", json={"blocked": True}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.put("/api/admin/uploads", json={"blocked": True}, headers=wrong).status_code == 401
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.put("/api/admin/uploads", json={"blocked": "yes"}, headers=admin).status_code == 400
    assert client.put("/api/admin/uploads", json={"blocked": True}, headers=admin).get_json() == {"blocked": True}
    refused = _upload(client, image_bytes())
    assert refused.status_code == 503
    assert "blocked" in refused.get_json()["error"]
    assert b"Uploads are blocked" in client.get("/").data
    client.put("/api/admin/uploads", json={"blocked": False}, headers=admin)
    assert _upload(client, image_bytes()).status_code == 202


def test_form_upload_redirects_to_the_photo_page(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b'name="file"' in page.data and b'name="phone"' in page.data
    sent = client.post("/photos", data={"file": (io.BytesIO(image_bytes()), "cat.jpg"), "email": "a@example.com",
                                        "csrf_token": form_token(client)}, content_type="multipart/form-data")
    assert sent.status_code == 303
    photo_page = client.get(sent.headers["Location"])
    assert photo_page.status_code == 200
    assert b"queued" in photo_page.data and b"cat.jpg" in photo_page.data
    refused = client.post("/photos", data={"file": (io.BytesIO(b"text"), "x.jpg"), "csrf_token": form_token(client)},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and b"not a readable image" in refused.data


def test_pages_escape_user_input_and_send_security_headers(client: FlaskClient) -> None:
    sent = client.post("/photos", data={"file": (io.BytesIO(image_bytes()), "<img src=x onerror=alert(1)>.jpg"),
                                        "csrf_token": form_token(client)}, content_type="multipart/form-data")
    page = client.get(sent.headers["Location"])
    assert b"<img src=x onerror" not in page.data and b"&lt;img src=x onerror=alert(1)&gt;.jpg" in page.data
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_healthz(app: Flask) -> None:
    assert app.test_client().get("/healthz").status_code == 200
