"""The pages: upload form (live progress), photo page, gallery, sign-in link. Forms carry CSRF tokens."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from photolane_common.cursors import BadCursor
from photolane_common.domain import DEFAULT_COLLECTION, ERASING, Collection, Person, Photo, owner_of
from photolane_common.retention import kept_sentence

from . import sessions
from .deps import current_deps
from .erase import deletable, delete_all, delete_photo, deleter, shown
from .faces import confirm_suggestion, photo_mark, reject_suggestion, unname_face
from .gallery import Entry
from .gallery_page import days, naming, people_of, person_param, who_is_this
from .guards import TooMany, count_correction, count_signin, count_upload
from .handlers import (
    QueueUnavailable,
    Upload,
    UploadsBlocked,
    accept_upload,
    gallery_items,
    photo_view,
)
from .receipts import receipt_for
from .signin import LinkExpired, LinkInvalid, LinkUsed, open_link, request_link
from .validation import InvalidUpload, normalize_email

web = Blueprint("web", __name__)

NEUTRAL_SIGNIN = ("If photos were sent with that email, a sign-in link is on its way to it. "
                  "It works once, for {minutes} minutes.")


@dataclass(frozen=True)
class AskedAgain:
    """This browser asked a link for the same address within the notifier's interval (it sends one)."""

    within: str  # "a minute", "2 minutes", "90 seconds"
    again_at: datetime  # when a new ask can bring a new link (the next whole minute after the interval)


def _a_while(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    return "a minute" if seconds == 60 else f"{seconds // 60} minutes"


def asked_again(email: str | None, interval: int) -> AskedAgain | None:
    """None (and the ask remembered) unless this browser asked for ``email`` less than ``interval`` ago:
    the session's word only, so it tells nothing of other browsers' asks or of who has photos."""
    now = time.time()
    earlier = sessions.signin_asked_at(email, interval, now) if email and interval else None
    if earlier is None:
        if email and interval:
            sessions.signin_asked(email, interval, now)
        return None
    free = math.ceil((earlier + interval) / 60) * 60  # HH:MM shown: a whole minute, never too early
    return AskedAgain(_a_while(interval), datetime.fromtimestamp(free, UTC))


def wants_json() -> bool:
    """The page's script sends the form with fetch and reads JSON; without script, HTML and a redirect."""
    return request.accept_mimetypes.best == "application/json"


def render_form(message: str | None = None, status: int = 200, into: Collection | None = None,
                link: str | None = None) -> Any:
    """The upload page; ``into``: the collection an upload link (``link``) opens."""
    if wants_json() and request.method == "POST":
        return jsonify(error=message), status
    deps = current_deps()
    blocked = deps.switches.uploads_blocked()
    return render_template("index.html", error=message, blocked=blocked, viewer=sessions.viewer(),
                           max_mb=deps.settings.max_upload_mb, into=into, link=link,
                           kept=kept_sentence(deps.settings.retention_days)), status


def sentence(message: str) -> str:
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


@web.get("/")
def index() -> Any:
    return render_form()


@web.get("/favicon.ico")
def favicon() -> Any:
    """The icon, for browsers that ask this path whatever the page's <link rel=icon> says."""
    return current_app.send_static_file("favicon.svg"), 200, {"Content-Type": "image/svg+xml",
                                                               "Cache-Control": "public, max-age=86400"}


@web.get("/u/<code>")
def upload_link(code: str) -> Any:
    """The upload page of an upload link: photos go into the link's collection."""
    deps = current_deps()
    collection_id = deps.upload_links.collection_of(code)
    into = deps.collections.get(collection_id) if collection_id else None
    if into is None or into.status != "active":
        return render_template("message.html", title="This upload link does not work", status=404,
                               message="It was revoked or has expired. Ask whoever gave it to you for a new one."), 404
    return render_form(into=into, link=code)


@web.post("/photos")
def upload() -> Any:
    deps = current_deps()
    link = request.form.get("link") or None
    shown = deps.upload_links.collection_of(link) if link else None  # for the form shown again
    into = deps.collections.get(shown) if shown else None
    try:
        count_upload()
    except TooMany as exc:
        response = render_form(sentence(exc.message), 429, into, link)
        return *response, {"Retry-After": str(exc.retry_after)}
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_form("Choose a photo to upload.", 400, into, link)
    try:
        photo = accept_upload(
            Upload(file.read(), file.filename, request.form.get("email"), request.form.get("phone"), link=link), deps
        )
    except InvalidUpload as exc:
        return *render_form(sentence(exc.message), exc.status, into, link), exc.headers
    except UploadsBlocked:
        return render_form("Uploads are blocked for now; try again later.", 503)
    except QueueUnavailable:
        return render_form("The photo could not be queued for processing; try again.", 503)
    return _accepted(photo, link, batch=request.form.get("batch") == "1")


def _accepted(photo: Photo, link: str | None, *, batch: bool) -> Any:
    """The answer to an accepted form upload. One of several the page sends at once (``batch``) leaves
    the session alone, so that overlapping answers never write back each other's cookie: its JSON
    answer carries a receipt instead, which the page claims later (claims.py)."""
    if photo.email and not batch:
        sessions.uploaded(owner_of(photo.email), photo.id)
    if link and not batch:
        sessions.came_by_link(link)
    page = url_for("web.photo_page", photo_id=photo.id)
    if not wants_json():
        return redirect(page, 303)
    receipt = receipt_for(owner_of(photo.email), photo.id, int(time.time())) if batch else None
    return jsonify(id=photo.id, status=photo.status, url=f"/api/photos/{photo.id}", page=page,
                   **({"receipt": receipt} if receipt else {})), 202


@web.get("/photos/<photo_id>")
def photo_page(photo_id: str) -> Any:
    deps = current_deps()
    found = deps.photos.get(photo_id) if len(photo_id) <= 64 else None
    photo = shown(found)
    if found is not None and photo is None:
        return _deleted_page()
    if photo is None:
        abort(404)
    reveal = sessions.is_admin(deps.settings) or sessions.owns(photo.id, photo.email)
    into = deps.collections.get(photo.collection) if photo.collection != DEFAULT_COLLECTION else None
    return render_template("photo.html", photo=photo_view(photo, deps, reveal_contacts=reveal), correcting=reveal,
                           into=into, again=_upload_again(photo.collection))


def _deleted_page() -> Any:
    return render_template("message.html", title="Photo deleted", status=404,
                           message="This photo was deleted: it and everything made from it (its faces, their "
                                   "pictures and encodings) are being erased."), 404


@web.post("/photos/<photo_id>/delete")
def delete_photo_page(photo_id: str) -> Any:
    """The photo page's and the gallery's Delete (a ticked box confirms): as DELETE /api/photos/<id>."""
    deps = current_deps()
    photo = deletable(photo_id, deps)
    by = deleter(photo, deps) if photo is not None else None
    if photo is None or by is None and shown(photo) is None:
        abort(404)
    if by is None:
        return render_template("message.html", title="Not your photo", status=403,
                               message="Only the photo's uploader, its owner signed in, or the admin can "
                                       "delete it."), 403
    back = url_for("web.gallery") if sessions.viewer() else url_for("web.index")
    if request.form.get("confirm") != "1":
        flash("Tick the box to delete the photo for good.", "error")
        again = back if request.form.get("from") == "gallery" else url_for("web.photo_page", photo_id=photo.id)
        return redirect(again, 303)
    delete_photo(photo, deps, by)
    flash(f"{photo.filename or 'The photo'} is deleted: it and its faces are being erased.")
    return redirect(back, 303)


def _upload_again(collection: str) -> str:
    """Where "Upload another photo" goes: back to the upload link this browser came by, while it still
    opens this photo's collection; else the upload page."""
    code = sessions.last_link()
    if code and collection != DEFAULT_COLLECTION and current_deps().upload_links.collection_of(code) == collection:
        return url_for("web.upload_link", code=code)
    return url_for("web.index")


# What the photo's owner (its uploader's session, the signed-in owner of its email) and the admin may
# say of a face: yes to its suggestion, no to it, or "not <name>" to its name. Naming new people and
# renaming stay the admin's (the admin pages).
CORRECTIONS = {"confirm": confirm_suggestion, "reject": reject_suggestion, "not": unname_face}


@web.post("/photos/<photo_id>/faces/<int:index>/<answer>")
def correct_face(photo_id: str, index: int, answer: str) -> Any:
    deps = current_deps()
    photo = shown(deps.photos.get(photo_id)) if len(photo_id) <= 64 and answer in CORRECTIONS else None
    if photo is None:
        abort(404)
    admin = sessions.is_admin(deps.settings)
    if not (admin or sessions.owns(photo.id, photo.email)):
        return render_template("message.html", title="Not your photo", status=403,
                               message="Only the photo's owner, signed in, or the admin can correct its names."), 403
    back = url_for("web.photo_page", photo_id=photo.id)
    try:
        count_correction()
        by = {"by": "admin" if admin else "owner"} if answer in ("confirm", "not") else {}
        done = CORRECTIONS[answer](photo.id, index, deps, **by)
    except TooMany as exc:
        flash(sentence(exc.message), "error")
        return redirect(back, 303)
    except InvalidUpload as exc:
        flash(sentence(exc.message), "error")
        return redirect(back, 303)
    except QueueUnavailable:
        flash("The change could not be queued; try again.", "error")
        return redirect(back, 303)
    person = done if isinstance(done, Person) else deps.people.get(done)
    name = person.name if person else "that person"
    flash(f"Face {index + 1} is {name}." if answer == "confirm" else
          f"Face {index + 1} is not {name}: they will not be named or suggested for it again.")
    return redirect(url_for("web.photo_page", photo_id=photo.id, changed=photo_mark(photo)) + "#faces", 303)


@web.get("/gallery")
def gallery() -> Any:
    viewer = sessions.viewer()
    asked = request.args.get("email")
    if asked is not None and (viewer is None or _normalized(asked) != viewer.owner):
        # Nobody lists another's gallery: the only way in is a sign-in link sent to that mailbox.
        return render_template("message.html", title="Not your gallery", status=403,
                               message="You can only see your own gallery. To see the photos sent with another "
                                       "email, ask for a sign-in link: it goes to that email."), 403
    if viewer is None:
        return redirect(url_for("web.signin"), 303)
    wanted = request.args.get("person") or None  # "" is the filter's "Everyone"
    try:
        return render_template("gallery.html", **_gallery_page(viewer, request.args.get("older"), wanted))
    except BadCursor:
        return render_template("message.html", title="Page not found", status=400,
                               message="That page link is not one this site made; start from the newest photos.",
                               link=(url_for("web.gallery"), "Your newest photos")), 400


def _gallery_page(viewer: sessions.Viewer, cursor: str | None, wanted: str | None) -> dict[str, Any]:
    """The gallery page's values: a page of the viewer's photos (of one person, when ``wanted``), by day;
    the people named in the viewer's photos to filter by; the "Who is this?" strip on the first page."""
    deps, person = current_deps(), person_param(wanted)
    newest = deps.gallery.entries(viewer.owner)  # the cached first page (also: whom to filter by)
    if wanted and person is None:
        listed, older = [], None  # not an id: nothing names it
    elif cursor:
        listed, older = deps.gallery.older(viewer.owner, cursor, person)
    else:
        listed, older = naming(newest, person) if person else newest, deps.gallery.after(newest)
    shown_now, recent = _visible(listed, viewer), _visible(newest, viewer)
    people = people_of([*recent, *shown_now], deps)  # only ever people named in the viewer's own photos
    items = gallery_items(shown_now, deps, people)
    pending = any(i["status"] in ("queued", "processing") for i in items)
    strip = [] if cursor or wanted else who_is_this(recent, deps, lambda p: sessions.owns(p.id, p.email))
    return {"viewer": viewer, "days": days(items), "photos": items, "pending": pending and not cursor,
            "older": older, "paged": bool(cursor), "person": person, "filtered": wanted is not None,
            "person_name": people[person].name if person in people else None,
            "people": sorted(people.values(), key=lambda p: (p.name.casefold(), p.id)), "questions": strip}


def _visible(entries: list[Entry], viewer: sessions.Viewer) -> list[Entry]:
    return [e for e in entries if viewer.may_see(e.id) and _kept(e.status, e.created_at)]


def _kept(status: str, created_at: str) -> bool:
    """Not being erased, nor sent before this browser's "Delete all my photos" (the processor marks
    each one in a moment: this browser sees them gone at once)."""
    before = session.get("deleted_before")
    return status != ERASING and not (isinstance(before, str) and created_at <= before)


@web.post("/gallery/delete")
def delete_everything() -> Any:
    """"Delete all my photos" (a ticked box confirms): the signed-in owner's only, never a session an
    upload alone opened (anyone can type any email)."""
    viewer = sessions.viewer()
    if viewer is None or not viewer.verified:
        return render_template("message.html", title="Sign in first", status=403,
                               message="Only the owner of an email, signed in with a link sent to it, can delete "
                                       "all its photos.", link=(url_for("web.signin"), "Ask for a sign-in link")), 403
    if request.form.get("confirm") != "1":
        flash("Tick the box to delete all your photos for good.", "error")
        return redirect(url_for("web.gallery"), 303)
    try:
        before = delete_all(viewer.owner, current_deps())
    except QueueUnavailable:
        flash("The deletion could not be queued; try again.", "error")
        return redirect(url_for("web.gallery"), 303)
    session["deleted_before"] = before.isoformat()
    flash("All your photos are deleted: they and everything made from them are being erased.")
    return redirect(url_for("web.gallery"), 303)


def _normalized(email: str) -> str | None:
    try:
        return owner_of(normalize_email(email))
    except InvalidUpload:
        return None


@web.post("/logout")
def logout() -> Any:
    sessions.log_out(current_deps().settings)
    return redirect(url_for("web.index"), 303)


@web.get("/signin")
def signin() -> Any:
    return render_template("signin.html", sent=None, error=None)


@web.post("/signin")
def signin_request() -> Any:
    deps, settings = current_deps(), current_deps().settings
    try:
        count_signin(_normalized(request.form.get("email") or ""))
    except TooMany as exc:
        return render_template("signin.html", sent=None, error=sentence(exc.message)), 429, \
            {"Retry-After": str(exc.retry_after)}
    try:
        request_link(request.form.get("email"), key=settings.session_key.get_secret_value(),
                     public_url=settings.public_url, max_age=settings.signin_max_age_seconds,
                     notifications=deps.notifications)
    except InvalidUpload as exc:
        return render_template("signin.html", sent=None, error=sentence(exc.message)), 400
    # After the same work as any ask (above): what the page says depends on this browser's asks alone.
    again = asked_again(_normalized(request.form.get("email") or ""), settings.signin_interval_seconds)
    message = NEUTRAL_SIGNIN.format(minutes=settings.signin_max_age_seconds // 60)
    return render_template("signin.html", sent=None if again else message, again=again, error=None)


@web.get("/signin/open")
def signin_open() -> Any:
    """The link's page: its script posts the token from the fragment (never sent in a request line)."""
    return render_template("signin_open.html")


@web.post("/signin/open")
def signin_link() -> Any:
    settings = current_deps().settings
    try:
        email = open_link(request.form.get("link"), key=settings.session_key.get_secret_value(),
                          max_age=settings.signin_max_age_seconds, used=current_deps().used_links)
    except LinkExpired:
        return _bad_link("This sign-in link has expired. Ask for a new one.")
    except LinkUsed:
        return _bad_link("This sign-in link has been used already: each link works once. Ask for a new one.")
    except LinkInvalid:
        return _bad_link("This sign-in link is not valid (it may have been cut or changed). Ask for a new one.")
    sessions.signed_in(email)
    return redirect(url_for("web.gallery"), 303)


def _bad_link(message: str) -> Any:
    return render_template("message.html", title="Sign-in link refused", message=message, status=400,
                           link=(url_for("web.signin"), "Ask for a sign-in link")), 400


# -- error pages -----------------------------------------------------------------------------------
# A page that cannot be shown gets a styled page that says why and where to go; the status stays the
# real one. Under /api/ the answer is the API's own JSON (api.http_error), as before.
ERROR_PAGES = {
    404: ("Page not found", "There is nothing at this address. The link may be old, or mistyped: check it, "
                            "or start again from the upload page or your gallery."),
    405: ("This page does not work that way", "This address cannot be opened like that (a form's address "
                                              "opened as a page, perhaps). Go back and use the page's own "
                                              "buttons, or start again from the upload page."),
    500: ("Something went wrong", "photolane hit an error while making this page. It has been logged. "
                                  "Try again in a moment; your photos are safe."),
}
PHOTO_NOT_FOUND = ("Photo not found", "There is no photo at this address. The link may be old or mistyped "
                                      "(a photo's address is long; an email or SMS may have cut it). Your "
                                      "gallery lists every photo you sent.")


@web.app_errorhandler(404)
@web.app_errorhandler(405)
@web.app_errorhandler(500)
def error_page(exc: HTTPException) -> Any:
    from .api import http_error  # the API's JSON answer for /api/ paths

    code = exc.code or 500
    if request.path.startswith("/api/"):
        return http_error(exc)
    if wants_json():
        return jsonify(error=exc.description or exc.name), code
    title, message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    if code == 404 and (request.endpoint == "web.photo_page" or request.path.startswith("/photos/")):
        title, message = PHOTO_NOT_FOUND
    allow = exc.get_response().headers.get("Allow") if code == 405 else None
    headers = {"Allow": allow} if allow else {}
    try:
        page = render_template("error.html", title=title, message=message, status=code)
    except Exception:  # noqa: BLE001 - a broken page must still answer with its status
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"
    return page, code, headers
