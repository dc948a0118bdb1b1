"""The admin page: asks for the admin token once (kept in the session), then every form is CSRF-protected.

Every route here answers 401 (with the token form) without an admin session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from . import sessions
from .api import export_response
from .deps import current_deps
from .guards import TooMany, count_admin_login
from .handlers import Enrollment, QueueUnavailable, delete_person, enroll_person, person_view
from .queues import PurgeRefused, UnknownQueue
from .validation import InvalidUpload
from .web import sentence

admin = Blueprint("admin", __name__, url_prefix="/admin")


def admin_page_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not sessions.is_admin(current_deps().settings):
            return login_form(None, 401)
        return view(*args, **kwargs)

    return guarded


def login_form(error: str | None, status: int) -> Any:
    configured = current_deps().settings.admin_token is not None
    return render_template("admin_login.html", error=error, configured=configured), status


def back() -> Any:
    return redirect(url_for("admin.page"), 303)


@admin.post("/login")
def login() -> Any:
    settings = current_deps().settings
    try:
        count_admin_login()
    except TooMany as exc:
        return *login_form(sentence(exc.message), 429), {"Retry-After": str(exc.retry_after)}
    if not sessions.token_matches(settings, request.form.get("token")):
        return login_form("That is not the admin token.", 401)
    sessions.admin_signed_in(settings)
    return back()


@admin.post("/logout")
@admin_page_required
def logout() -> Any:
    sessions.admin_signed_out(current_deps().settings)
    return redirect(url_for("web.index"), 303)


@admin.get("")
@admin_page_required
def page() -> Any:
    deps = current_deps()
    # Notifications whose sender died mid-send: maybe sent, never repeated (a sparse index).
    uncertain = [(photo.id, d) for photo in deps.photos.with_uncertain_deliveries()
                 for d in photo.deliveries if d.status == "uncertain"]
    return render_template("admin.html", blocked=deps.switches.uploads_blocked(), queues=deps.queues.depths(),
                           people=[person_view(p, deps) for p in deps.people.all()], uncertain=uncertain)


@admin.post("/uploads")
@admin_page_required
def uploads() -> Any:
    blocked = request.form.get("blocked") == "1"
    current_deps().switches.set_uploads_blocked(blocked)
    flash("Uploads are blocked: the upload page and API refuse them (503)." if blocked
          else "Uploads are accepted again.")
    return back()


@admin.get("/export")
@admin_page_required
def export() -> Any:
    return export_response(request.args.get("format", "json"))


@admin.post("/people")
@admin_page_required
def enroll() -> Any:
    photo = request.files.get("photo")
    data = photo.read() if photo is not None and photo.filename else None
    if data is None:
        flash("Choose a photo of the person's face.", "error")
        return back()
    try:
        person = enroll_person(Enrollment(request.form.get("name"), request.form.get("attributes"), data),
                               current_deps())
    except InvalidUpload as exc:
        flash(exc.message[0].upper() + exc.message[1:] + ".", "error")
        return back()
    except QueueUnavailable:
        flash("The photo could not be queued for encoding; send it again.", "error")
        return back()
    flash(f"{person.name} is being enrolled.")
    return back()


@admin.post("/people/<person_id>/delete")
@admin_page_required
def remove(person_id: str) -> Any:
    if len(person_id) <= 64 and delete_person(person_id, current_deps()):
        flash("The person is deleted; their faces are being un-named.")
    else:
        flash("No such person.", "error")
    return back()


@admin.post("/queues/<name>/redrive")
@admin_page_required
def redrive(name: str) -> Any:
    try:
        moved = current_deps().queues.redrive(name)
    except UnknownQueue:
        flash(f"No queue {name}.", "error")
        return back()
    flash(f"{moved} dead letter{'' if moved == 1 else 's'} moved back to {name}.")
    return back()


@admin.post("/queues/<name>/purge")
@admin_page_required
def purge(name: str) -> Any:
    """Two steps: the first POST shows what will be lost; the second, with confirm=yes, purges."""
    deps = current_deps()
    if name not in deps.queues.names():
        flash(f"No queue {name}.", "error")
        return back()
    if request.form.get("confirm") != "yes":
        return render_template("admin_purge.html", name=name)
    try:
        deps.queues.purge(name)
    except PurgeRefused as exc:
        flash(str(exc) + ".", "error")
        return back()
    flash(f"{name} is purged.")
    return back()
