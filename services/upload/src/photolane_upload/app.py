"""The Flask application factory."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

from .api import api
from .bootstrap import build_deps
from .handlers import UploadDeps
from .settings import UploadSettings
from .web import web

log = logging.getLogger("photolane.upload.http")


def create_app(settings: UploadSettings | None = None, deps: UploadDeps | None = None) -> Flask:
    settings = settings or UploadSettings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 1024 * 1024  # the form's own fields
    app.extensions["photolane"] = deps or build_deps(settings)
    app.register_blueprint(api)
    app.register_blueprint(web)
    _add_request_log(app)
    _add_security_headers(app, _image_origin(app.extensions["photolane"]))
    if settings.admin_token is None:
        log.warning("admin.token_missing", extra={"hint": "set PHOTOLANE_ADMIN_TOKEN to use admin routes"})
    return app


def _image_origin(deps: UploadDeps) -> str:
    """Where presigned image URLs point (computed locally, no request), for the page's CSP."""
    parts = urlsplit(deps.blobs.url("probe") or "")
    return f"{parts.scheme}://{parts.netloc}"


def _add_request_log(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        if request.path != "/healthz":
            log.info("http.request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
            })
        return response


def _add_security_headers(app: Flask, image_origin: str) -> None:
    policy = (
        f"default-src 'self'; img-src 'self' data: {image_origin}; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response
