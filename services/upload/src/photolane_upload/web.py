"""The pages: the upload form and one photo's page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .deps import current_deps
from .handlers import QueueUnavailable, Upload, UploadsBlocked, accept_upload, photo_view
from .validation import InvalidUpload

web = Blueprint("web", __name__)


def render_form(message: str | None = None, status: int = 200) -> tuple[str, int]:
    blocked = current_deps().switches.uploads_blocked()
    return render_template("index.html", error=message, blocked=blocked,
                           max_mb=current_deps().settings.max_upload_mb), status


@web.get("/")
def index() -> Any:
    return render_form()


@web.post("/photos")
def upload() -> Any:
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_form("Choose a photo to upload.", 400)
    try:
        photo = accept_upload(
            Upload(file.read(), file.filename, request.form.get("email"), request.form.get("phone")), current_deps()
        )
    except InvalidUpload as exc:
        return render_form(exc.message[0].upper() + exc.message[1:] + ".", exc.status)
    except UploadsBlocked:
        return render_form("Uploads are blocked for now; try again later.", 503)
    except QueueUnavailable:
        return render_form("The photo could not be queued for processing; try again.", 503)
    return redirect(url_for("web.photo_page", photo_id=photo.id), 303)


@web.get("/photos/<photo_id>")
def photo_page(photo_id: str) -> Any:
    deps = current_deps()
    photo = deps.photos.get(photo_id) if len(photo_id) <= 64 else None
    if photo is None:
        abort(404)
    return render_template("photo.html", photo=photo_view(photo, deps))
