"""The collections API (admin): make, list, read and delete collections, and their upload links."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request

from photolane_common.collection import BadCollection, collection_id
from photolane_common.cursors import BadCursor
from photolane_common.domain import DEFAULT_COLLECTION, Collection
from photolane_common.messages import CollectionDeleted

from . import schemas as S
from .api import admin_required, error
from .deps import current_deps
from .faces import page_size
from .openapi import LOCATION, described
from .validation import InvalidUpload, person_attributes, person_name

collections = Blueprint("collections", __name__)

ID = {"collection_id": "the collection's id"}


def collection_view(collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.id,
        "name": collection.name,
        "attributes": collection.attributes,
        "status": collection.status,
        "created_at": collection.created_at.isoformat(),
        "links": [{"id": link.id, "label": link.label, "created_at": link.created_at.isoformat(),
                   "expires_at": link.expires_at.isoformat() if link.expires_at else None}
                  for link in collection.links],
        "url": f"/api/collections/{collection.id}",
    }


def _new_collection(body: Any) -> tuple[str, str, dict[str, object]]:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"].strip():
        raise InvalidUpload('send a JSON object {"id": "7b", "name": "Class 7B", "attributes": {...}}')
    if not isinstance(body.get("name"), str):
        raise InvalidUpload("name must be a string")
    raw = body.get("attributes")
    if raw is not None and not isinstance(raw, dict | str):
        raise InvalidUpload('attributes must be a JSON object, e.g. {"school": "Hill School"}')
    attributes = person_attributes(raw if isinstance(raw, str) or raw is None else json.dumps(raw))
    try:
        return collection_id(body["id"]), person_name(body["name"]), attributes
    except BadCollection as exc:
        raise InvalidUpload(str(exc)) from exc


@collections.post("/api/collections")
@described("Make a collection: its photos are matched only against its own people", tags=("collections",),
           admin=True, body=S.NewCollection, headers={201: LOCATION},
           responses={201: S.CollectionView, 400: S.Error, 409: (S.Error, "a collection with this id exists")})
@admin_required
def create_collection() -> Any:
    try:
        cid, name, attributes = _new_collection(request.get_json(silent=True))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    if cid == DEFAULT_COLLECTION:
        return error(409, "the default collection exists already (everything is in it unless said otherwise)")
    made = current_deps().collections.create(cid, name, attributes)
    if made is None:
        return error(409, f"a collection {cid!r} exists already")
    return jsonify(collection_view(made)), 201, {"Location": f"/api/collections/{cid}"}


@collections.get("/api/collections")
@described("A page of collections", tags=("collections",), admin=True, query=S.Page,
           responses={200: S.CollectionsPage, 400: (S.Error, "a bad limit or cursor")})
@admin_required
def list_collections() -> Any:
    try:
        found, after = current_deps().collections.page(page_size(request.args.get("limit"), 100),
                                                        request.args.get("cursor"))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    except BadCursor:
        return error(400, "cursor is not one this service gave (use the 'next' of the page before)")
    return jsonify(collections=[collection_view(c) for c in found], next=after)


def _collection(raw: str) -> Collection:
    try:
        cid = collection_id(raw)
    except BadCollection as exc:
        raise InvalidUpload(f"no collection {raw[:40]!r}", 404) from exc
    found = current_deps().collections.get(cid)
    if found is None:
        raise InvalidUpload(f"no collection {cid!r}", 404)
    return found


@collections.get("/api/collections/<collection_id>")
@described("A collection and its upload links", tags=("collections",), admin=True, params=ID,
           responses={200: S.CollectionView})
@admin_required
def get_collection(collection_id: str) -> Any:
    try:
        return jsonify(collection_view(_collection(collection_id)))
    except InvalidUpload as exc:
        return error(exc.status, exc.message)


@collections.delete("/api/collections/<collection_id>")
@described("Delete a collection: its people, photos, faces, indexes and links are erased", tags=("collections",),
           admin=True, params=ID, responses={202: S.CollectionDeleting, 400: S.Error})
@admin_required
def delete_collection(collection_id: str) -> Any:
    deps = current_deps()
    try:
        found = _collection(collection_id)
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    if found.id == DEFAULT_COLLECTION:
        return error(400, "the default collection cannot be deleted (delete its people and photos instead)")
    deps.collections.mark_deleting(found.id)  # nothing more goes in from now on
    try:
        deps.jobs.send(CollectionDeleted(collection=found.id))
    except Exception:  # noqa: BLE001 - the queue out of reach: the admin asks again (marking is idempotent)
        return error(503, "the deletion could not be queued; try again")
    return jsonify(id=found.id, status="deleting"), 202


@collections.post("/api/collections/<collection_id>/links")
@described("Make an upload link into the collection (its code is shown only now)", tags=("collections",),
           admin=True, params=ID, body=S.NewLink, headers={201: LOCATION},
           responses={201: S.LinkMade, 400: S.Error, 409: (S.Error, "the collection is being deleted")})
@admin_required
def create_link(collection_id: str) -> Any:
    deps = current_deps()
    body = request.get_json(silent=True)
    body = {} if body is None else body
    try:
        found = _collection(collection_id)
        label, days = _link_request(body)
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    if found.status == "deleting":
        return error(409, f"collection {found.id!r} is being deleted")
    made = deps.upload_links.create(found.id, label, days)
    if made is None:
        return error(404, f"no collection {found.id!r}")
    code, link = made
    answer = {"id": link.id, "code": code, "url": f"/u/{code}", "label": link.label,
              "created_at": link.created_at.isoformat(),
              "expires_at": link.expires_at.isoformat() if link.expires_at else None}
    return jsonify(answer), 201, {"Location": f"/api/collections/{found.id}"}


def _link_request(body: Any) -> tuple[str, int | None]:
    if not isinstance(body, dict):
        raise InvalidUpload('send a JSON object {"label": "Ms Patel", "days": 30} (both optional)')
    label, days = body.get("label") or "", body.get("days")
    if not isinstance(label, str) or len(label) > 100:
        raise InvalidUpload("label must be text of at most 100 characters")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366):
        raise InvalidUpload("days must be a whole number from 1 to 366 (or left out: the link does not expire)")
    return label.strip(), days


@collections.delete("/api/collections/<collection_id>/links/<link_id>")
@described("Revoke an upload link: it stops working at once", tags=("collections",), admin=True,
           params={**ID, "link_id": "the link's id (not its code)"}, responses={200: S.LinkRevoked})
@admin_required
def revoke_link(collection_id: str, link_id: str) -> Any:
    try:
        found = _collection(collection_id)
    except InvalidUpload as exc:
        return error(exc.status, exc.message)
    if len(link_id) > 64 or not current_deps().upload_links.revoke(found.id, link_id):
        return error(404, f"no link {link_id[:64]} in collection {found.id!r}")
    return jsonify(id=link_id, status="revoked")

