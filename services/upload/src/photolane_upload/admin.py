"""The admin page: asks for the admin token once (kept in the session), then every form is CSRF-protected.

Every route here answers 401 (with the token form) without an admin session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from photolane_common.collection import BadCollection, collection_id
from photolane_common.cursors import BadCursor
from photolane_common.domain import DEFAULT_COLLECTION, Collection, Person
from photolane_common.messages import CollectionDeleted

from . import sessions
from .api import export_response
from .deps import current_deps
from .faces import (
    edit_person,
    faces_mark,
    hide_cluster,
    merge_people,
    name_cluster,
    name_face,
    parse_who,
    person_photos,
    person_summary,
    photo_labels,
    photo_mark,
    unknown_people,
    unname_face,
)
from .figures import figures
from .guards import TooMany, count_admin_login
from .handlers import Enrollment, QueueUnavailable, delete_person, enroll_person, person_view
from .queues import PurgeRefused, UnknownQueue
from .validation import InvalidUpload, person_attributes, person_name
from .web import sentence

admin = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN_PAGE_UNKNOWN = 12  # unknown people on the admin page (the rest on /admin/unknown)
UNKNOWN_PAGE = 24  # unknown people a page on /admin/unknown
PEOPLE_PAGE = 24  # people a page on /admin/people
PERSON_FACES_PAGE = 48  # faces a page on a person's page
RELOADS = 8  # how often a page reloads itself (every 2 s) after a change the processor makes
ADMIN_PEOPLE = 50  # people in the admin page's table (every one on /admin/people, a page at a time)
CHOICES = 200  # people offered in a list when naming a face; with more, one is given by name or id


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
    try:
        unknown = unknown_people(ADMIN_PAGE_UNKNOWN, None, deps)
    except InvalidUpload:  # pragma: no cover - no cursor given: never a bad one
        unknown = {"clusters": [], "next": None}
    return render_template("admin.html", blocked=deps.switches.uploads_blocked(), queues=deps.queues.depths(),
                           people=[person_view(p, deps) for p in _first_people(ADMIN_PEOPLE)],
                           more_people=_more_people, uncertain=uncertain,
                           unknown=unknown["clusters"], more_unknown=unknown["next"] is not None,
                           labels=photo_labels(unknown["clusters"], deps), everyone=_everyone(), figures=figures())


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
    return export_response(request.args.get("format", "json"), request.args.get("collection"))


@admin.post("/people")
@admin_page_required
def enroll() -> Any:
    photo = request.files.get("photo")
    data = photo.read() if photo is not None and photo.filename else None
    if data is None:
        flash("Choose a photo of the person's face.", "error")
        return back()
    try:
        person = enroll_person(Enrollment(request.form.get("name"), request.form.get("attributes"), data,
                                          _collection_field(request.form.get("collection"))), current_deps())
    except InvalidUpload as exc:
        flash(exc.message[0].upper() + exc.message[1:] + ".", "error")
        return back()
    except QueueUnavailable:
        flash("The photo could not be queued for encoding; send it again.", "error")
        return back()
    into = "" if person.collection == DEFAULT_COLLECTION else f" into {person.collection}"
    flash(f"{person.name} is being enrolled{into}.")
    return back()


def _collection_field(raw: str | None) -> str:
    try:
        return collection_id(raw)
    except BadCollection as exc:
        raise InvalidUpload(str(exc)) from exc


def _shown_collection() -> Collection | None:
    """The collection a listing page is filtered by (``?collection=``), or None for all of them; raises
    InvalidUpload (404) for one that does not exist."""
    raw = request.args.get("collection")
    if raw is None:
        return None
    found = current_deps().collections.get(_collection_field(raw))
    if found is None:
        raise InvalidUpload(f"no collection {raw[:40]!r}", 404)
    return found


@admin.post("/people/<person_id>/delete")
@admin_page_required
def remove(person_id: str) -> Any:
    """Two steps: the first POST asks (naming who and what follows); the second, with confirm=yes, deletes."""
    person = _person_or_404(person_id)
    back_to = _local(request.form.get("next"), url_for("admin.page"))  # e.g. the people page's Remove
    if person is None:
        flash("No such person.", "error")
        return redirect(back_to, 303)
    if request.form.get("confirm") != "yes":
        return render_template("admin_delete_person.html", person=person, next=request.form.get("next") and back_to)
    if delete_person(person.id, current_deps()):
        flash(f"{person.name} is removed." if person.status == "failed"
              else f"{person.name} is deleted; their faces are being un-named.")
    else:
        flash("No such person.", "error")
    return redirect(back_to, 303)


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


# -- faces: naming a face or an unknown person, taking a name back, the people and their pages -------
def _naming(collection: str = DEFAULT_COLLECTION) -> dict[str, Any] | None:
    """For the photo page (a template of web.py): what an admin needs to name faces (the people of the
    photo's collection), else None."""
    if not sessions.is_admin(current_deps().settings):
        return None
    return {"people": _everyone(collection)}


@dataclass(frozen=True)
class Choices:
    """The people a naming form offers: all of them when few (a list to choose from), else the first
    ``CHOICES`` by name as suggestions, and the form takes a name or an id typed in."""

    people: list[dict[str, str]]
    complete: bool

    def __iter__(self) -> Any:
        return iter(self.people)

    def __bool__(self) -> bool:
        return bool(self.people)


def _everyone(collection: str | None = None) -> Choices:
    """One page of the table (of one collection's people, if given), never all of it: at ten thousand
    people a list is no way to choose."""
    store = current_deps().people
    people, more = store.page(CHOICES) if collection is None else store.page_of(collection, CHOICES)
    ordered = sorted(people, key=lambda p: (p.name.casefold(), p.id))
    return Choices([{"id": p.id, "name": p.name} for p in ordered], complete=more is None)


def _first_people(limit: int) -> list[Person]:
    people, more = current_deps().people.page(limit)
    g.more_people = more is not None
    return sorted(people, key=lambda p: (p.name.casefold(), p.id))


def _more_people() -> bool:
    return bool(g.get("more_people"))


def resolve_person(text: str | None) -> str:
    """A person given by id or by exact name (the forms at scale): their id (raises InvalidUpload)."""
    wanted = " ".join((text or "").split())
    if not wanted:
        raise InvalidUpload("give the name (or the id) of an enrolled person")
    deps = current_deps()
    if len(wanted) <= 64 and deps.people.get(wanted) is not None:
        return wanted
    named = deps.people.named(wanted)
    if not named:
        raise InvalidUpload(f"nobody enrolled is named {wanted[:100]!r} (the exact name, or the id shown on "
                            "the People page)", 404)
    if len(named) > 1:
        raise InvalidUpload(f"{len(named)} people are named {wanted[:100]!r}: give the id of one "
                            "(the People page shows it)", 409)
    return named[0].id


@admin.app_context_processor
def face_helpers() -> dict[str, Any]:
    return {"face_naming": _naming, "faces_mark": faces_mark, "attributes_text": attributes_text}


def attributes_text(attributes: dict[str, object] | None) -> str:
    """Attributes as the forms show them: ``key: value`` lines, or JSON when lines would lose something."""
    if not attributes:
        return ""
    simple = all(isinstance(v, str) and "\n" not in v and v == v.strip() for v in attributes.values()) and \
        all(":" not in k and "\n" not in k and k == k.strip() and k for k in attributes)
    if simple:
        return "\n".join(f"{k}: {v}" for k, v in attributes.items())
    return json.dumps(attributes, ensure_ascii=False)


def attributes_field(text: str | None) -> str | dict[str, object] | None:
    """The attributes a form sent: a JSON object, or ``key: value`` lines (values kept as text)."""
    if text is None or not text.strip():
        return None
    if text.strip().startswith("{"):
        return text
    attributes: dict[str, object] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise InvalidUpload(f"attributes line {number} is not key: value (write one per line, "
                                f'e.g. role: student, or a JSON object)')
        attributes[key.strip()] = value.strip()
    return attributes


def _who_from_form() -> dict[str, Any]:
    """The naming forms: an existing person (``person_id``) or a new one (``name``, ``attributes``)."""
    if "person_id" in request.form:
        return {"person_id": request.form.get("person_id") or ""}
    if "person" in request.form:  # typed: a name or an id
        return {"person_id": resolve_person(request.form.get("person"))}
    return {"name": request.form.get("name") or "", "attributes": attributes_field(request.form.get("attributes"))}


def _local(path: str | None, default: str) -> str:
    """Where a form asked to go back to: a path of this site only (never another site)."""
    if (path and len(path) <= 2000 and path.startswith("/") and not path.startswith("//") and "\\" not in path
            and not any(ord(c) < 32 or ord(c) == 127 for c in path)  # a browser drops tabs and newlines:
            and not urlsplit(path).netloc and not urlsplit(path).scheme):  # "/\t/evil" would be "//evil"
        return path
    return default


def _photo_page(photo_id: str, mark: str | None = None) -> Any:
    args = {"changed": mark} if mark else {}
    return redirect(url_for("web.photo_page", photo_id=photo_id, **args) + ("#faces" if mark else ""), 303)


def _mark_of(photo_id: str) -> str | None:
    photo = current_deps().photos.get(photo_id) if len(photo_id) <= 64 else None
    return photo_mark(photo) if photo is not None else None


def _refused(exc: InvalidUpload) -> None:
    flash(sentence(exc.message), "error")


@admin.post("/photos/<photo_id>/faces/<int:index>/person")
@admin_page_required
def name_photo_face(photo_id: str, index: int) -> Any:
    deps = current_deps()
    mark = _mark_of(photo_id)
    try:
        person = name_face(photo_id, index, parse_who(_who_from_form()), deps)
    except InvalidUpload as exc:
        _refused(exc)
        return _photo_page(photo_id) if mark else redirect(url_for("admin.page"), 303)
    except QueueUnavailable:
        flash("The naming could not be queued; try again.", "error")
        return _photo_page(photo_id)
    flash(f"Face {index + 1} is {person.name}; every photo where they appear is being named.")
    return _photo_page(photo_id, mark)


@admin.post("/photos/<photo_id>/faces/<int:index>/unname")
@admin_page_required
def unname_photo_face(photo_id: str, index: int) -> Any:
    deps = current_deps()
    mark = _mark_of(photo_id)
    photo = deps.photos.get(photo_id) if mark else None
    named = photo.faces[index].person_id if photo is not None and 0 <= index < len(photo.faces) else None
    person = deps.people.get(named) if named else None
    back_to = request.form.get("next")
    try:
        unname_face(photo_id, index, deps)
    except InvalidUpload as exc:
        _refused(exc)
        return redirect(_local(back_to, url_for("web.photo_page", photo_id=photo_id)), 303) if mark \
            else redirect(url_for("admin.page"), 303)
    except QueueUnavailable:
        flash("The change could not be queued; try again.", "error")
        return _photo_page(photo_id)
    name = person.name if person else "that person"
    flash(f"Face {index + 1} is no longer {name}, and will not be matched to them again.")
    if back_to:
        return redirect(_local(back_to, url_for("admin.page")), 303)
    return _photo_page(photo_id, mark)


@admin.post("/unknown/<cluster>/person")
@admin_page_required
def name_unknown(cluster: str) -> Any:
    back_to = _local(request.form.get("next"), url_for("admin.unknown"))
    try:
        person = name_cluster(cluster, parse_who(_who_from_form()), current_deps())
    except InvalidUpload as exc:
        _refused(exc)
        return redirect(back_to, 303)
    except QueueUnavailable:
        flash("The naming could not be queued; try again.", "error")
        return redirect(back_to, 303)
    flash(f"That unknown person is {person.name}; their photos are being named.")
    return redirect(_with_reloads(back_to), 303)


@admin.post("/unknown/<cluster>/hide")
@admin_page_required
def hide_unknown(cluster: str) -> Any:
    """Reversible, so no confirmation step: "Show again" on the hidden list undoes it."""
    return _hidden_or_shown(cluster, True)


@admin.post("/unknown/<cluster>/show")
@admin_page_required
def show_unknown(cluster: str) -> Any:
    return _hidden_or_shown(cluster, False)


def _hidden_or_shown(cluster: str, hidden: bool) -> Any:
    back_to = _local(request.form.get("next"), url_for("admin.unknown"))
    try:
        view = hide_cluster(cluster, hidden, current_deps())
    except InvalidUpload as exc:
        _refused(exc)
        return redirect(back_to, 303)
    faces = f"{view['faces']} face{'' if view['faces'] == 1 else 's'}"
    flash(f"That unknown person ({faces}) is hidden, and so are new photos of them: "
          "the unknown people page lists them under Hidden, to show again." if hidden
          else f"That unknown person ({faces}) is shown again among the unknown people.")
    return redirect(back_to, 303)


def _with_reloads(path: str) -> str:
    """The page, told to reload itself a few times (faces.js) while the processor does the change."""
    base, _, fragment = path.partition("#")
    base = base.split("?", 1)[0] if "reload=" in base else base
    return f"{base}{'&' if '?' in base else '?'}reload={RELOADS}" + (f"#{fragment}" if fragment else "")


@admin.get("/unknown")
@admin_page_required
def unknown() -> Any:
    deps = current_deps()
    cursor = request.args.get("cursor")
    hidden = request.args.get("hidden") == "1"  # the hidden ones, each with "Show again"
    try:
        shown = _shown_collection()
        collection = shown.id if shown else DEFAULT_COLLECTION
        page = unknown_people(UNKNOWN_PAGE, cursor, deps, collection, hidden)
    except InvalidUpload as exc:
        return render_template("message.html", title="Page not found", status=exc.status,
                               message=sentence(exc.message)), exc.status
    return render_template("admin_unknown.html", clusters=page["clusters"], next=page["next"],
                           labels=photo_labels(page["clusters"], deps), first=not cursor,
                           everyone=_everyone(collection), shown=shown, hidden=hidden,
                           hidden_count=deps.photos.hidden_count(collection))


@admin.get("/people")
@admin_page_required
def people() -> Any:
    """People a page at a time (the table in pages, never all of it), in order of name within a page."""
    deps = current_deps()
    cursor = request.args.get("cursor")
    try:
        into = _shown_collection()
        shown, after = (deps.people.page(PEOPLE_PAGE, cursor) if into is None
                        else deps.people.page_of(into.id, PEOPLE_PAGE, cursor))
    except InvalidUpload as exc:
        return render_template("message.html", title="Page not found", status=exc.status,
                               message=sentence(exc.message)), exc.status
    except BadCursor:
        return render_template("message.html", title="Page not found", status=400,
                               message="That page link is not one this site made; start from the first page."), 400
    shown.sort(key=lambda p: (p.name.casefold(), p.id))
    return render_template("admin_people.html", people=[person_summary(p, deps) for p in shown],
                           next=after, first=not cursor, shown=into)


# -- collections: made, listed, upload links handed out and revoked, deleted ------------------------------
COLLECTIONS_PAGE = 24


@admin.get("/collections")
@admin_page_required
def collections() -> Any:
    cursor = request.args.get("cursor")
    try:
        found, after = current_deps().collections.page(COLLECTIONS_PAGE, cursor)
    except BadCursor:
        return render_template("message.html", title="Page not found", status=400,
                               message="That page link is not one this site made; start from the first page."), 400
    found.sort(key=lambda c: (c.name.casefold(), c.id))
    return render_template("admin_collections.html", collections=found, next=after, first=not cursor)


def _to_collections() -> Any:
    return redirect(url_for("admin.collections"), 303)


@admin.post("/collections")
@admin_page_required
def make_collection() -> Any:
    try:
        cid = _collection_field(request.form.get("id"))
        name = person_name(request.form.get("name"))
        given = attributes_field(request.form.get("attributes"))
        attributes = person_attributes(json.dumps(given) if isinstance(given, dict) else given)
    except InvalidUpload as exc:
        flash(sentence(exc.message), "error")
        return _to_collections()
    if cid == DEFAULT_COLLECTION or current_deps().collections.create(cid, name, attributes) is None:
        flash(f"A collection {cid!r} exists already: choose another id.", "error")
    else:
        flash(f"{name} is made. Hand out an upload link, or enroll its people with the collection {cid}.")
    return _to_collections()


@admin.post("/collections/<collection_id>/links")
@admin_page_required
def make_link(collection_id: str) -> Any:
    deps = current_deps()
    found = deps.collections.get(collection_id) if len(collection_id) <= 40 else None
    days = request.form.get("days") or ""
    if found is None or found.status != "active":
        flash("That collection is gone or being deleted.", "error")
        return _to_collections()
    if days and (not days.isdigit() or not 1 <= int(days) <= 366):
        flash("Days: a whole number from 1 to 366, or empty (the link does not expire).", "error")
        return _to_collections()
    label = (request.form.get("label") or "").strip()[:100]
    made = deps.upload_links.create(found.id, label, int(days) if days else None)
    if made is not None:
        flash(f"Upload link for {found.name} (copy it now: it is shown only once): "
              f"{request.host_url}u/{made[0]}", "link")
    return _to_collections()


@admin.post("/collections/<collection_id>/links/<link_id>/revoke")
@admin_page_required
def revoke_link(collection_id: str, link_id: str) -> Any:
    revoked = len(collection_id) <= 40 and current_deps().upload_links.revoke(collection_id, link_id[:64])
    flash("The link is revoked: it stops working at once." if revoked else "No such link (revoked already?).",
          None if revoked else "error")
    return _to_collections()


@admin.post("/collections/<collection_id>/delete")
@admin_page_required
def delete_collection(collection_id: str) -> Any:
    deps = current_deps()
    found = deps.collections.get(collection_id) if len(collection_id) <= 40 else None
    if found is None or found.id == DEFAULT_COLLECTION:
        flash("No such collection.", "error")
        return _to_collections()
    if request.form.get("confirm") != "1":
        flash(f"Tick the box to erase {found.name} with its people and photos.", "error")
        return _to_collections()
    deps.collections.mark_deleting(found.id)
    try:
        deps.jobs.send(CollectionDeleted(collection=found.id))
    except Exception:  # noqa: BLE001 - the queue out of reach: deleting again sends it again
        flash("The deletion could not be queued; delete it again.", "error")
        return _to_collections()
    flash(f"{found.name} is being deleted: its people, photos and links are erased.")
    return _to_collections()


def _person_or_404(person_id: str) -> Person | None:
    deps = current_deps()
    return deps.people.get(person_id) if len(person_id) <= 64 else None


@admin.get("/people/<person_id>")
@admin_page_required
def person(person_id: str) -> Any:
    deps = current_deps()
    found = _person_or_404(person_id)
    if found is None:
        return render_template("message.html", title="No such person", status=404,
                               message="Nobody is enrolled with that id (deleted, or merged into another)."), 404
    try:
        faces = person_photos(found.id, PERSON_FACES_PAGE, request.args.get("cursor"), deps)
    except InvalidUpload as exc:
        return render_template("message.html", title="Page not found", status=400,
                               message=sentence(exc.message)), 400
    everyone = _everyone()
    others = [p for p in everyone if p["id"] != found.id]
    return render_template("admin_person.html", person=person_summary(found, deps), faces=faces["faces"],
                           next=faces["next"], others=others, everyone=everyone)


@admin.post("/people/<person_id>/edit")
@admin_page_required
def edit(person_id: str) -> Any:
    body: dict[str, Any] = {}
    if "name" in request.form:
        body["name"] = request.form.get("name")
    if "attributes" in request.form:
        try:
            body["attributes"] = attributes_field(request.form.get("attributes"))
        except InvalidUpload as exc:
            _refused(exc)
            return redirect(url_for("admin.person", person_id=person_id), 303)
    try:
        changed = edit_person(person_id, body, current_deps())
    except InvalidUpload as exc:
        _refused(exc)
        if exc.status == 404:
            return redirect(url_for("admin.people"), 303)
        return redirect(url_for("admin.person", person_id=person_id), 303)
    flash(f"{changed.name} is saved.")
    return redirect(url_for("admin.person", person_id=changed.id), 303)


@admin.post("/people/<person_id>/merge")
@admin_page_required
def merge(person_id: str) -> Any:
    deps = current_deps()
    try:
        other = request.form.get("person_id") if "person_id" in request.form else \
            resolve_person(request.form.get("person"))
        merged = deps.people.get(other) if other and len(other) <= 64 else None
        kept = merge_people(person_id, other, deps)
    except InvalidUpload as exc:
        _refused(exc)
        if _person_or_404(person_id) is None:
            return redirect(url_for("admin.people"), 303)
        return redirect(url_for("admin.person", person_id=person_id), 303)
    except QueueUnavailable:
        flash("The merge could not be queued; try again.", "error")
        return redirect(url_for("admin.person", person_id=person_id), 303)
    flash(f"{merged.name if merged else 'The other person'} is being merged into {kept.name}: "
          "one person remains, with the faces of both.")
    return redirect(_with_reloads(url_for("admin.person", person_id=kept.id)), 303)

