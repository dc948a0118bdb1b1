"""AWS (the stand-in) out of reach, or its resources gone: 503 with Retry-After, JSON or a page, never a 500."""

import io
import uuid

import pytest
from flask.testing import FlaskClient

from photolane.standin import free_port
from photolane.testing import Stack
from photolane_upload.app import create_app
from photolane_upload.outage import MESSAGE
from photolane_upload.settings import UploadSettings

from ..conftest import image_bytes


def _client() -> FlaskClient:
    app = create_app(UploadSettings(session_key="test-session-key-not-a-secret", admin_token="t"))
    app.config["TESTING"] = True
    return app.test_client()


def _assert_unavailable(client: FlaskClient) -> None:
    for answer in (client.get("/api/photos/abc"),
                   client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg")},
                               content_type="multipart/form-data")):
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.get_json() == {"error": MESSAGE} and int(answer.headers["Retry-After"]) > 0
    page = client.get("/photos/abc")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert page.mimetype == "text/html" and "cannot be reached" in page.get_data(as_text=True)


def test_the_stand_in_out_of_reach_is_a_503_and_the_app_starts_without_it(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    _assert_unavailable(_client())


def test_resources_missing_after_a_restart_is_a_503(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    suffix = uuid.uuid4().hex[:8]
    for setting in ("BUCKET", "PHOTOS_TABLE", "PEOPLE_TABLE", "SETTINGS_TABLE", "FACES_TABLE", "JOBS_QUEUE",
                    "NOTIFICATIONS_QUEUE"):
        monkeypatch.setenv(f"PHOTOLANE_{setting}", f"gone-{suffix}-{setting.lower().replace('_', '-')}")
    _assert_unavailable(_client())


def test_other_errors_stay_errors(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug is not dressed up as an outage."""
    from botocore.exceptions import ClientError

    from photolane_upload.outage import storage_unreachable

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetItem")
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "GetItem")
    assert not storage_unreachable(denied) and not storage_unreachable(ValueError("x"))
    try:
        raise RuntimeError("wrapped") from missing
    except RuntimeError as wrapped:
        assert storage_unreachable(wrapped)
