"""The Flask application factory."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from photolane_common import cursors

from .admin import admin
from .api import api
from .batch_page import batch_pages
from .bootstrap import build_deps
from .bounded_json import bound_json
from .claims import claims
from .collection_api import collections
from .contacts import contacts
from .cross_site import refuse_cross_site
from .guards import TooMany
from .handlers import UploadDeps, utc_text
from .inbox import inbox
from .keys import SessionKeyMissing, with_session_key
from .logged_paths import logged_path
from .openapi import docs
from .outage import add_outage_answers
from .settings import UploadSettings
from .web import web

log = logging.getLogger("photolane.upload.http")


def create_app(settings: UploadSettings | None = None, deps: UploadDeps | None = None) -> Flask:
    settings = with_session_key(settings or UploadSettings())
    if settings.session_key is None:
        raise SessionKeyMissing()
    app = Flask(__name__)
    refuse_cross_site(app, settings.public_url)  # first, before CSRF, limits and body checks: a 403
    bound_json(app)
    if settings.proxy_hops:
        # Exactly the proxies that are there: the client address is the one the outermost trusted
        # proxy saw, never a value the client wrote into X-Forwarded-For itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=1)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 1024 * 1024  # the form's own fields
    _configure_session(app, settings)
    cursors.sign_with(settings.session_key.get_secret_value().encode())  # a page cursor from outside: a 400
    app.extensions["photolane"] = deps or build_deps(settings)
    app.register_blueprint(api)
    app.register_blueprint(collections)  # /api/collections
    app.register_blueprint(contacts)  # /api/contacts/check: the upload page's check before it sends
    app.register_blueprint(docs)  # /api/openapi.json and /api/docs
    app.register_blueprint(web)
    app.register_blueprint(batch_pages)  # /batches/<code>: the photos of one notifier message
    app.register_blueprint(claims)  # /uploads/claim: the upload page's receipts into the session
    app.register_blueprint(admin)
    app.register_blueprint(inbox)  # /dev/inbox: only in local mode (PHOTOLANE_DEV_INBOX), else a 404
    app.add_template_filter(utc_text)  # times in pages: UTC text, put in the reader's zone by dates.js
    _add_csrf(app)
    _add_request_log(app)
    _add_security_headers(app, _image_origin(app.extensions["photolane"]), settings.https)
    _add_limits(app)
    add_outage_answers(app)  # AWS / the stand-in out of reach: 503, never 500
    if settings.admin_token is None:
        log.warning("admin.token_missing", extra={"hint": "set PHOTOLANE_ADMIN_TOKEN to use admin routes"})
    return app


def _configure_session(app: Flask, settings: UploadSettings) -> None:
    """Flask's signed cookie session; the key comes from the settings, so every worker signs alike."""
    assert settings.session_key is not None
    app.secret_key = settings.session_key.get_secret_value()
    app.config.update(
        SESSION_COOKIE_NAME="photolane_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.session_days),
        # A cookie only when the session changed: a status poll answered after an upload must not set
        # the cookie back to what it was when the poll left (the upload's photo would leave the gallery).
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session: a page left open still uploads
    )


def _add_csrf(app: Flask) -> None:
    """Every form is CSRF-protected; the JSON API is not: it takes bearer tokens and never reads cookies."""
    from .api import api

    csrf = CSRFProtect(app)
    csrf.exempt(api)
    csrf.exempt(collections)  # the API: a bearer token, no cookie
    csrf.exempt(contacts)  # the API: reads no cookie, changes nothing

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        message = "The form has expired or did not come from this site. Reload the page and send it again."
        if request.accept_mimetypes.best == "application/json":
            return {"error": message}, 400
        return render_template("message.html", title="Form refused", message=message, status=400), 400


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
                "method": request.method, "path": logged_path(request.path), "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
            })
        return response


def _add_limits(app: Flask) -> None:
    @app.errorhandler(TooMany)
    def too_many(exc: TooMany) -> Any:
        log.info("limit.refused", extra={"path": request.path, "retry_after": exc.retry_after})
        headers = {"Retry-After": str(exc.retry_after)}
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return {"error": exc.message}, 429, headers
        return render_template("message.html", title="Too many requests", message=exc.message[0].upper() +
                               exc.message[1:] + ".", status=429), 429, headers


def _add_security_headers(app: Flask, image_origin: str, https: bool) -> None:
    policy = (
        f"default-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
        f"img-src 'self' data: {image_origin}; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin: never to S3 or elsewhere, but Flask-WTF checks the referrer of forms over HTTPS.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")  # pages show private data
        if https or request.is_secure:  # behind a TLS-ending proxy the request itself may say http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
