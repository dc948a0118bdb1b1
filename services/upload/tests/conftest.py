import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from photolane.testing import Stack
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

ADMIN_TOKEN = "test-admin-token"
SESSION_KEY = "test-session-key-not-a-secret"


def form_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token a page's forms carry (bound to this client's session cookie)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 120, 40)[: len(mode)] if mode != "L" else 128).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def app(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1))
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def form_upload(client: FlaskClient, data: bytes | None = None, name: str = "me.jpg", json: bool = False,
                **fields: str) -> Any:
    """An upload through the page's form (with its CSRF token); ``json``: as the page's script sends it."""
    body = {"file": (io.BytesIO(data if data is not None else image_bytes()), name),
            "csrf_token": form_token(client), **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/photos", data=body, content_type="multipart/form-data", headers=headers)


def admin_client(client: FlaskClient) -> FlaskClient:
    """The client signed in on the admin page."""
    answer = client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": form_token(client, "/admin")})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client
