"""Collections: each photo is matched only against the people of its own collection.

A collection scopes everything a search touches: its people (their own change feed and index), its
unknown faces (their own feed, index shards and listing of clusters). The default collection keeps the
names used before collections existed, so an existing deployment's people and photos are in it with no
migration, and a deployment that never creates a collection behaves as before.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from .cursors import decode_cursor, encode_cursor
from .domain import DEFAULT_COLLECTION, Collection, UploadLink
from .models import CollectionModel
from .optimistic import changed

# An upload link's item in the settings table: "upload-link:<SHA-256 of its code>" → its collection.
LINK_PREFIX = "upload-link:"
SHARDS = 16  # of the sparse indexes a collection's rows are found by: writes spread, no hot key
COLLECTION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class BadCollection(ValueError):
    """A collection id that is not one (the message says why)."""


def collection_id(text: str | None) -> str:
    """A collection id as given by a user (case does not matter); the default one when empty."""
    value = (text or "").strip().lower()
    if not value:
        return DEFAULT_COLLECTION
    if not COLLECTION_ID.fullmatch(value):
        raise BadCollection("a collection id is 1 to 40 letters, digits, '-' or '_', starting with a letter "
                            f"or digit, not {text[:50]!r}")
    return value


def shard(item_id: str) -> str:
    """An item's shard of a sharded index, from its id: writes spread evenly over SHARDS keys."""
    return str(zlib.crc32(item_id.encode()) % SHARDS)


def _scoped(name: str, collection: str) -> str:
    return name if collection == DEFAULT_COLLECTION else f"{name}@{collection}"


def people_feed(collection: str) -> str:
    """The change feed of a collection's people (the default one's is the feed of old)."""
    return _scoped("people_version", collection)


def unknown_feed(collection: str) -> str:
    """The change feed of a collection's unknown faces."""
    return _scoped("unknown_faces", collection)


def unknown_listing(collection: str) -> str:
    """The key of a collection's clusters of unknown faces in the clusters-by-size index."""
    return _scoped("unknown", collection)


def hidden_listing(collection: str) -> str:
    """The key of a collection's hidden clusters in the clusters-by-size index: out of the unknown
    people's listing, so no list of people to name reads them."""
    return _scoped("hidden", collection)


def index_name(kind: str, collection: str) -> str:
    """A processor's in-memory index of a collection ("people" or "unknown"): its snapshots' folder."""
    return _scoped(kind, collection)


def unknown_mark(collection: str, photo_id: str) -> str:
    """What a photo with unknown faces carries in the sparse unknown-faces index: its shard (in the
    default collection, as before), or "<collection>#<shard>"."""
    return _marked(collection, shard(photo_id))


def unknown_marks(collection: str) -> list[str]:
    return [_marked(collection, str(n)) for n in range(SHARDS)]


def _marked(collection: str, shard_: str) -> str:
    return shard_ if collection == DEFAULT_COLLECTION else f"{collection}#{shard_}"


def people_pool(collection: str, person_id: str) -> str:
    """What a person carries in the people-by-collection index: "<collection>#<shard>", the default
    collection's people too (the people of before collections are marked on the first load: people.py)."""
    return f"{collection}#{shard(person_id)}"


def people_pools(collection: str) -> list[str]:
    return [f"{collection}#{n}" for n in range(SHARDS)]


def photo_pool(collection: str, photo_id: str) -> str | None:
    """What a photo outside the default collection carries in the photos-by-collection index (the
    default collection's photos carry none: they are never listed or erased as a collection)."""
    return None if collection == DEFAULT_COLLECTION else people_pool(collection, photo_id)


def _to_collection(item: CollectionModel) -> Collection:
    links = tuple(UploadLink(link["id"], link["hash"], link.get("label") or "",
                             datetime.fromisoformat(link["created_at"]),
                             datetime.fromisoformat(link["expires_at"]) if link.get("expires_at") else None)
                  for link in item.links or [])
    return Collection(item.id, item.name, item.created_at, item.attributes or {}, links, item.status or "active")


def _link_json(link: UploadLink) -> dict[str, object]:
    return {"id": link.id, "hash": link.hash, "label": link.label, "created_at": link.created_at.isoformat(),
            "expires_at": link.expires_at.isoformat() if link.expires_at else None}


class CollectionStore:
    """The collections table: a collection's name and attributes (its people and photos carry its id)."""

    def create(self, collection_id_: str, name: str, attributes: dict[str, object]) -> Collection | None:
        """A new collection; None when one with this id exists already."""
        item = CollectionModel(collection_id_, name=name, attributes=attributes, created_at=datetime.now(UTC))
        try:
            item.save(condition=CollectionModel.id.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise
        return _to_collection(item)

    def get(self, collection_id_: str) -> Collection | None:
        """A collection by id (the default one exists without a record, named "Default")."""
        try:
            return _to_collection(CollectionModel.get(collection_id_, consistent_read=True))
        except DoesNotExist:
            if collection_id_ == DEFAULT_COLLECTION:
                return Collection(DEFAULT_COLLECTION, "Default", datetime(1970, 1, 1, tzinfo=UTC))
            return None

    def exists(self, collection_id_: str) -> bool:
        return self.get(collection_id_) is not None

    def add_link(self, collection_id_: str, link: UploadLink) -> Collection | None:
        """List a new upload link on the collection (before it works: a link that works is always listed)."""
        return self._change(collection_id_, lambda item: setattr(item, "links", [
            *(item.links or []), _link_json(link)]))

    def remove_link(self, collection_id_: str, link_id: str) -> Collection | None:
        return self._change(collection_id_, lambda item: setattr(item, "links", [
            link for link in item.links or [] if link["id"] != link_id]))

    def mark_deleting(self, collection_id_: str) -> Collection | None:
        """Its erasure has begun: uploads, enrollments and links into it are refused from now on."""
        return self._change(collection_id_, lambda item: setattr(item, "status", "deleting"))

    def delete(self, collection_id_: str) -> None:
        """The record itself (last, once everything of the collection is gone)."""
        CollectionModel(collection_id_).delete(add_version_condition=False)

    def _change(self, collection_id_: str, change: Callable[[CollectionModel], None]) -> Collection | None:
        """Read-modify-write (the version attribute catches a concurrent writer); None when absent."""
        item = changed(CollectionModel, collection_id_, change)
        return _to_collection(item) if item is not None else None

    def page(self, limit: int, cursor: str | None = None) -> tuple[list[Collection], str | None]:
        """Up to ``limit`` collections (a table read a page at a time), and the next page's cursor or None
        (raises BadCursor)."""
        items = CollectionModel.scan(limit=limit, page_size=limit, last_evaluated_key=decode_cursor(cursor))
        found = [_to_collection(item) for item in items]
        return found, encode_cursor(items.last_evaluated_key) if len(found) == limit else None
