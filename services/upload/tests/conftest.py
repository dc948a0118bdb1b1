import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from photolane.testing import Stack
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

ADMIN_TOKEN = "test-admin-token"


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 120, 40)[: len(mode)] if mode != "L" else 128).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def app(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    app = create_app(UploadSettings(max_upload_mb=1))
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
