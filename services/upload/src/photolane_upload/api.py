"""The JSON API (see ARCHITECTURE.md for the contract)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from photolane_common.collection import BadCollection, collection_id
from photolane_common.cursors import BadCursor
from photolane_common.domain import Person

from . import schemas as S
from . import sessions
from .deps import current_deps
from .erase import deletable, delete_photo, deleter, shown
from .export import export_csv, export_json
from .faces import (
    confirm_suggestion,
    edit_person,
    hide_cluster,
    merge_people,
    name_cluster,
    name_face,
    page_size,
    parse_who,
    person_photos,
    reject_suggestion,
    unknown_people,
    unname_face,
)
from .guards import count_upload
from .handlers import (
    Enrollment,
    QueueUnavailable,
    Upload,
    UploadsBlocked,
    accept_upload,
    add_person_photo,
    delete_person,
    enroll_person,
    parse_blocked,
    person_view,
    photo_view,
)
from .openapi import LOCATION, described
from .queues import PurgeRefused, UnknownQueue
from .sessions import bearer_is_admin
from .validation import InvalidUpload, megabytes

api = Blueprint("api", __name__)


def error(status: int, message: str) -> tuple[Any, int]:
    return jsonify(error=message), status


@api.get("/healthz")
@described("Liveness: the process answers", responses={200: S.Health}, tags=("health",))
def healthz() -> Any:
    return jsonify(status="ok")


@api.post("/api/photos")
@described("Upload a photo", tags=("photos",), form=S.PhotoUpload, limited=True,
           description="Checked whole (type, size, pixels, decode) before it is accepted; then queued for processing.",
           responses={202: S.PhotoAccepted, 400: (S.Error, "not a readable image, too many pixels, bad email or phone"),
                      403: (S.Error, "a revoked or expired link, or a collection named without the token"),
                      404: (S.Error, "no such collection"), 409: (S.Error, "the collection is being deleted"),
                      503: (S.Error, "uploads blocked, the job not queued, or the storage out of reach")},
           headers={202: LOCATION})
def create_photo() -> Any:
    count_upload()  # before the body is read or decoded: a flood costs a counter, not a decode
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error(400, "send the photo as the multipart field 'file'")
    deps = current_deps()
    try:
        photo = accept_upload(
            Upload(upload.read(), upload.filename, request.form.get("email"), request.form.get("phone"),
                   collection_id(request.form.get("collection")), request.form.get("link") or None,
                   bearer_is_admin(deps.settings)),
            deps,
        )
    except BadCollection as exc:
        return error(400, str(exc))
    except InvalidUpload as exc:
        return *error(exc.status, exc.message), exc.headers
    except UploadsBlocked:
        return error(503, "uploads are blocked for now; try again later")
    except QueueUnavailable:
        return error(503, "the photo could not be queued for processing; try again")
    body = {"id": photo.id, "status": photo.status, "collection": photo.collection, "url": f"/api/photos/{photo.id}",
            "page": f"/photos/{photo.id}"}
    return jsonify(body), 202, {"Location": f"/api/photos/{photo.id}"}


@api.get("/api/photos/<photo_id>")
@described("A photo: its status, images, faces and notifications", tags=("photos",),
           params={"photo_id": "the id POST /api/photos answered"}, responses={200: S.PhotoView})
def get_photo(photo_id: str) -> Any:
    deps = current_deps()
    photo = shown(deps.photos.get(photo_id) if len(photo_id) <= 64 else None)  # being erased: not shown
    if photo is None:
        return error(404, f"no photo {photo_id[:64]}")
    # The contacts only to the uploader's session, that email's signed-in owner, or an admin.
    reveal = bearer_is_admin(deps.settings) or sessions.is_admin(deps.settings) or sessions.owns(photo.id, photo.email)
    return jsonify(photo_view(photo, deps, reveal_contacts=reveal))


@api.delete("/api/photos/<photo_id>")
@described("Delete a photo: it and everything made from it (faces, encodings, pictures) are erased",
           tags=("photos",), params={"photo_id": "the id POST /api/photos answered"},
           description="For the uploader's session, the signed-in owner of its email, or the admin (Bearer "
                       "token). The photo is shown nowhere from now on; the processor erases it. Deleting "
                       "again while it is erased answers 202 again; once erased, 404.",
           responses={202: S.PhotoDeleting,
                      403: (S.Error, "not the photo's uploader, its email's signed-in owner, or the admin"),
                      404: (S.Error, "no such photo (or erased already)")})
def remove_photo(photo_id: str) -> Any:
    deps = current_deps()
    photo = deletable(photo_id, deps)
    by = deleter(photo, deps) if photo is not None else None
    if photo is None or by is None and shown(photo) is None:  # being erased: gone, to anyone else
        return error(404, f"no photo {photo_id[:64]}")
    if by is None:
        return error(403, "only the photo's uploader, the signed-in owner of its email, or the admin can delete it")
    delete_photo(photo, deps, by)
    return jsonify(id=photo.id, status="erasing"), 202


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Bearer PHOTOLANE_ADMIN_TOKEN, compared in constant time; 401 otherwise."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not bearer_is_admin(current_deps().settings):
            if request.headers.get("Authorization"):
                return error(401, "the admin token is wrong (or not sent as Authorization: Bearer <token>)")
            return error(401, "admin token required (Authorization: Bearer <PHOTOLANE_ADMIN_TOKEN>)")
        return view(*args, **kwargs)

    return guarded


@api.put("/api/admin/uploads")
@described("Block or unblock uploads", tags=("admin",), admin=True, body=S.Blocked,
           responses={200: S.Blocked, 400: S.Error})
@admin_required
def set_uploads() -> Any:
    try:
        blocked = parse_blocked(request.get_json(silent=True))
    except InvalidUpload as exc:
        return error(400, exc.message)
    current_deps().switches.set_uploads_blocked(blocked)
    return jsonify(blocked=blocked)


@api.get("/api/admin/uploads")
@described("Whether uploads are blocked", tags=("admin",), admin=True, responses={200: S.Blocked})
@admin_required
def get_uploads() -> Any:
    return jsonify(blocked=current_deps().switches.uploads_blocked())


@api.get("/api/admin/export")
@described("Every person and photo record, streamed (JSON or CSV)", tags=("admin",), admin=True,
           query=S.ExportFormat,
           responses={200: {"application/json": S.Export, "text/csv": {"type": "string"}},
                      400: (S.Error, "a bad format or collection id"), 404: (S.Error, "no such collection")})
@admin_required
def export() -> Any:
    """Every photo and person record, streamed; ``?format=csv`` for CSV (JSON by default);
    ``?collection=<id>`` only that collection's."""
    return export_response(request.args.get("format", "json"), request.args.get("collection"))


def export_response(fmt: str, collection: str | None = None) -> Any:
    """The export download (the API and the admin page), of everything or of one collection."""
    if fmt not in ("json", "csv"):
        return error(400, "format must be json or csv")
    deps = current_deps()
    try:
        only = None if collection is None else collection_id(collection)
    except BadCollection as exc:
        return error(400, str(exc))
    if only is not None and deps.collections.get(only) is None:
        return error(404, f"no collection {only!r}")
    people = [p for p in deps.people.all() if only is None or p.collection == only]
    photos = (p for p in deps.photos.all() if (only is None or p.collection == only) and shown(p))  # not erasing
    chunks = (export_csv if fmt == "csv" else export_json)(photos, people)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    named = f"-{only}" if only else ""
    headers = {"Content-Disposition": f'attachment; filename="photolane-export{named}-{stamp}.{fmt}"',
               "Cache-Control": "no-store"}
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(stream_with_context(chunks), mimetype=mimetype, headers=headers)


# -- queues (admin) --------------------------------------------------------------------------------
@api.get("/api/admin/queues")
@described("Each queue's depth and dead letters", tags=("admin",), admin=True,
           responses={200: S.Queues})
@admin_required
def queues() -> Any:
    return jsonify(queues=[asdict(q) for q in current_deps().queues.depths()])


@api.post("/api/admin/queues/<name>/redrive")
@described("Move a queue's dead letters back to it", tags=("admin",), admin=True,
           params={"name": "jobs or notifications"}, responses={200: S.Redriven})
@admin_required
def redrive(name: str) -> Any:
    try:
        moved = current_deps().queues.redrive(name)
    except UnknownQueue:
        return error(404, f"no queue {name}; one of: {', '.join(current_deps().queues.queues)}")
    return jsonify(queue=name, moved=moved)


@api.post("/api/admin/queues/<name>/purge")
@described("Delete every message of a queue", tags=("admin",), admin=True, body=S.PurgeConfirm,
           params={"name": "jobs, notifications, jobs-dlq or notifications-dlq"},
           responses={200: S.Purged, 400: (S.Error, "no confirmation"),
                      409: (S.Error, "purged less than a minute ago")})
@admin_required
def purge(name: str) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("confirm") is not True:
        return error(400, 'purging deletes every message: send {"confirm": true}')
    try:
        current_deps().queues.purge(name)
    except UnknownQueue:
        return error(404, f"no queue {name}; one of: {', '.join(current_deps().queues.names())}")
    except PurgeRefused as exc:
        return error(409, str(exc))
    return jsonify(queue=name, purged=True)


# -- people (admin) --------------------------------------------------------------------------------
def _photo_field() -> bytes | None:
    photo = request.files.get("photo")
    return photo.read() if photo is not None and photo.filename else None


@api.post("/api/people")
@described("Enroll a person from photos of their face", tags=("people",), admin=True,
           form=S.Enrollment,
           responses={202: S.Enrolling, 400: (S.Error, "no photo, no name, bad attributes, or a photo refused"),
                      404: (S.Error, "no such collection"), 409: (S.Error, "the collection is being deleted")})
@admin_required
def create_person() -> Any:
    photos = tuple(f.read() for f in request.files.getlist("photo") if f.filename)
    if not photos:
        return error(400, "send a photo of the person's face as the multipart field 'photo' "
                          "(several 'photo' fields for several photos)")
    try:
        enrollment = Enrollment(request.form.get("name"), request.form.get("attributes"), photos,
                                collection_id(request.form.get("collection")))
        person = enroll_person(enrollment, current_deps())
    except BadCollection as exc:
        return error(400, str(exc))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the photo could not be queued for encoding; send it again")
    return jsonify(id=person.id, status=person.status, collection=person.collection, photos=len(person.photos),
                   url=f"/api/people/{person.id}"), 202


@api.post("/api/people/<person_id>/photos")
@described("One more photo of a person's face", tags=("people",), admin=True,
           form=S.PersonPhotoUpload, responses={202: S.PhotoAdded, 400: S.Error})
@admin_required
def add_photo(person_id: str) -> Any:
    photo = _photo_field()
    if photo is None:
        return error(400, "send the photo as the multipart field 'photo'")
    try:
        person = add_person_photo(person_id, photo, current_deps())
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the photo could not be queued for encoding; send it again")
    if person is None:
        return error(404, f"no person {person_id}")
    return jsonify(id=person.id, status=person.status, url=f"/api/people/{person.id}"), 202


@api.get("/api/people")
@described("A page of people", tags=("people",), admin=True, query=S.CollectionPage,
           responses={200: S.PeoplePage, 400: (S.Error, "a bad limit, cursor or collection")})
@admin_required
def list_people() -> Any:
    """A page of people (``?limit=`` 1-100, default 100; ``?cursor=`` the ``next`` of the page before;
    ``?collection=`` only that collection's)."""
    deps = current_deps()
    try:
        limit, cursor = page_size(request.args.get("limit"), 100), request.args.get("cursor")
        if request.args.get("collection") is None:
            people, after = deps.people.page(limit, cursor)
        else:
            people, after = deps.people.page_of(collection_id(request.args["collection"]), limit, cursor)
    except BadCollection as exc:
        return error(400, str(exc))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except BadCursor:
        return error(400, "cursor is not one this service gave (use the 'next' of the page before)")
    return jsonify(people=[person_view(p, deps) for p in people], next=after)


@api.get("/api/people/<person_id>")
@described("A person", tags=("people",), admin=True, responses={200: S.PersonView})
@admin_required
def get_person(person_id: str) -> Any:
    deps = current_deps()
    person = deps.people.get(person_id) if len(person_id) <= 64 else None
    if person is None:
        return error(404, f"no person {person_id}")
    return jsonify(person_view(person, deps))


@api.delete("/api/people/<person_id>")
@described("Delete a person (their faces are un-named by the processor)", tags=("people",),
           admin=True, responses={200: S.PersonDeleted})
@admin_required
def remove_person(person_id: str) -> Any:
    if len(person_id) > 64 or not delete_person(person_id, current_deps()):
        return error(404, f"no person {person_id}")
    return jsonify(id=person_id, status="deleted")


# -- faces (admin): name a face or an unknown person, take a name back, merge, edit ------------------
def _face_index(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 4:
        raise InvalidUpload(f"face index {raw[:10]!r} is not a whole number from 0", 404)
    return int(raw)


def _accepted(person: Person) -> Any:
    return jsonify(person_view(person, current_deps())), 202, {"Location": f"/api/people/{person.id}"}


@api.post("/api/photos/<photo_id>/faces/<index>/person")
@described("Name a face: a new person or an enrolled one", tags=("faces",), admin=True, body=S.Who,
           params={"index": "the face's index in the photo, from 0"}, headers={202: LOCATION},
           responses={202: S.PersonView, 400: S.Error, 409: (S.Error, "the photo is not processed yet")})
@admin_required
def name_photo_face(photo_id: str, index: str) -> Any:
    try:
        return _accepted(name_face(photo_id, _face_index(index), parse_who(request.get_json(silent=True)),
                                   current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the naming could not be queued; try again")


@api.delete("/api/photos/<photo_id>/faces/<index>/person")
@described("Take a face's name back: unknown again", tags=("faces",), admin=True,
           params={"index": "the face's index in the photo, from 0"},
           responses={202: S.Unnaming, 409: (S.Error, "the face is not named, or the photo not processed")})
@admin_required
def unname_photo_face(photo_id: str, index: str) -> Any:
    return _face_changing(unname_face, photo_id, index, "unnaming")


def _face_changing(change: Any, photo_id: str, index: str, status: str) -> Any:
    """A change of who a face is, queued: 202 with the person it is not, or the refusal."""
    try:
        person_id = change(photo_id, _face_index(index), current_deps())
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the change could not be queued; try again")
    return jsonify(photo_id=photo_id, index=int(index), person_id=person_id, status=status), 202


@api.post("/api/photos/<photo_id>/faces/<index>/suggestion")
@described("Confirm a face's suggestion: named the person suggested", tags=("faces",), admin=True,
           params={"index": "the face's index in the photo, from 0"}, headers={202: LOCATION},
           responses={202: S.PersonView, 409: (S.Error, "the face has no suggestion, or the photo is not processed")})
@admin_required
def confirm_face_suggestion(photo_id: str, index: str) -> Any:
    try:
        return _accepted(confirm_suggestion(photo_id, _face_index(index), current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the naming could not be queued; try again")


@api.delete("/api/photos/<photo_id>/faces/<index>/suggestion")
@described("Reject a face's suggestion: never suggested or named that person again", tags=("faces",),
           admin=True, params={"index": "the face's index in the photo, from 0"},
           responses={202: S.SuggestionRejected,
                      409: (S.Error, "the face has no suggestion, or the photo is not processed")})
@admin_required
def reject_face_suggestion(photo_id: str, index: str) -> Any:
    return _face_changing(reject_suggestion, photo_id, index, "rejecting")


@api.get("/api/faces/unknown")
@described("A collection's groups of similar unknown faces (or its hidden ones), most faces first",
           tags=("faces",), admin=True, query=S.UnknownPage,
           responses={200: S.ClusterPage, 400: (S.Error, "a bad limit, cursor, collection or hidden")})
@admin_required
def list_unknown_people() -> Any:
    try:
        limit = page_size(request.args.get("limit"))
        collection = collection_id(request.args.get("collection"))
        hidden = _flag(request.args.get("hidden"), "hidden")
        return jsonify(unknown_people(limit, request.args.get("cursor"), current_deps(), collection, hidden))
    except BadCollection as exc:
        return error(400, str(exc))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)


def _flag(raw: str | None, name: str) -> bool:
    if raw in (None, "", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise InvalidUpload(f"{name} is true or false, not {raw[:20]!r}")


@api.post("/api/faces/unknown/<cluster>/hide")
@described("Hide a group of unknown faces: out of the unknown people, never named as a group; new faces "
           "like them join it hidden", tags=("faces",), admin=True, responses={200: S.ClusterView})
@admin_required
def hide_unknown_person(cluster: str) -> Any:
    return _hidden_or_shown(cluster, True)


@api.post("/api/faces/unknown/<cluster>/show")
@described("Show a hidden group of unknown faces again, among the unknown people", tags=("faces",),
           admin=True, responses={200: S.ClusterView})
@admin_required
def show_unknown_person(cluster: str) -> Any:
    return _hidden_or_shown(cluster, False)


def _hidden_or_shown(cluster: str, hidden: bool) -> Any:
    try:
        return jsonify(hide_cluster(cluster, hidden, current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)


@api.post("/api/faces/unknown/<cluster>/person")
@described("Name every face of a group of unknown faces", tags=("faces",), admin=True,
           body=S.Who, headers={202: LOCATION},
           responses={202: S.PersonView, 400: S.Error,
                      409: (S.Error, "the group is hidden (show it first), or the person is of another collection")})
@admin_required
def name_unknown_person(cluster: str) -> Any:
    try:
        return _accepted(name_cluster(cluster, parse_who(request.get_json(silent=True)), current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the naming could not be queued; try again")


@api.patch("/api/people/<person_id>")
@described("Rename a person and/or change their attributes", tags=("people",), admin=True,
           body=S.PersonEdit, responses={200: S.PersonView, 400: S.Error})
@admin_required
def change_person(person_id: str) -> Any:
    try:
        return jsonify(person_view(edit_person(person_id, request.get_json(silent=True), current_deps()),
                                   current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)


@api.post("/api/people/<person_id>/merge")
@described("Merge another person into this one", tags=("people",), admin=True, body=S.Merge,
           headers={202: LOCATION}, responses={202: S.PersonView, 400: S.Error})
@admin_required
def merge_person(person_id: str) -> Any:
    body = request.get_json(silent=True)
    try:
        merged = body.get("person_id") if isinstance(body, dict) else None
        return _accepted(merge_people(person_id, merged, current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except QueueUnavailable:
        return error(503, "the merge could not be queued; try again")


@api.get("/api/people/<person_id>/photos")
@described("The faces named a person, a page at a time", tags=("people",), admin=True,
           query=S.Page, responses={200: S.PersonPhotosPage, 400: (S.Error, "a bad limit or cursor")})
@admin_required
def photos_of_person(person_id: str) -> Any:
    try:
        limit = page_size(request.args.get("limit"), 48)
        return jsonify(person_photos(person_id, limit, request.args.get("cursor"), current_deps()))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)


@api.app_errorhandler(413)
def too_large(exc: HTTPException) -> Any:
    limit = current_deps().settings.max_upload_mb
    sent = request.content_length
    message = (f"the upload is {megabytes(sent)} MB; the limit is {limit:g} MB" if sent
               else f"the upload is larger than the {limit:g} MB limit")
    if request.content_length is not None and request.content_length <= (current_app.config["MAX_CONTENT_LENGTH"] or 0):
        message = "the form has too many fields, or a field too large"  # Werkzeug's limits: 1,000 parts, 500 KB
    if request.path.startswith("/api/"):
        return error(413, message)
    from .web import render_form, sentence  # the web page answers with the form and the message

    return render_form(sentence(message), 413)


@api.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    """Under /api/, every HTTP error (an unknown path, a wrong method, ...) is JSON like the API's own."""
    if request.path.startswith("/api/") and exc.code is not None:
        return error(exc.code, exc.description or exc.name)
    return exc.get_response()
