"""Each owner's gallery, read through a cache that stays right across workers and the processor.

A cached gallery is the owner's entries (newest first) and the people version they were named
under. On each read it is checked against DynamoDB cheaply: the owner's newest photo (one item from
the owner-created index) must be in it and the people version unchanged; then only the entries still
queued or processing are read again (one BatchGet) and written back. Anything else rebuilds it from
the index. Uploads write through (the new photo shows at once, even while the index lags). So a
photo finished by the processor, in any process, shows on the next read, with no message between
the services; names changed by a later enrollment show when the people version moves (or within
the cache's lifetime for a re-match that ends after that).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from photolane_common.domain import PROCESSING, QUEUED, Photo
from photolane_common.photos import older_than

from .cache import Cache

log = logging.getLogger("photolane.upload.gallery")

PENDING = (QUEUED, PROCESSING)
# Photos a page filtered by one person reads at most from the owner's index (the photo records hold
# the people named, but no index finds an owner's photos of one person): a page stops there, short or
# empty, with its "Older photos" link to look further.
FILTER_EXAMINED = 1000

# An unknown face with a suggestion: its index in the photo, who it may be, its picture's key.
Suggested = tuple[int, str, str | None]


@dataclass(frozen=True)
class Entry:
    """One photo of a gallery, as cached (names are looked up when shown: people change)."""

    id: str
    status: str
    created_at: str
    filename: str | None
    error: str | None
    original_key: str
    flipped_key: str | None
    thumbnail_key: str | None
    faces: int
    person_ids: tuple[str, ...]
    suggestions: tuple[Suggested, ...] = ()  # the "Who is this?" strip's faces (absent in older caches)

    @classmethod
    def of(cls, photo: Photo) -> Entry:
        people = tuple(dict.fromkeys(f.person_id for f in photo.faces if f.person_id))
        asked = tuple((i, f.suggestion, f.crop) for i, f in enumerate(photo.faces)
                      if f.person_id is None and f.suggestion and f.suggestion not in f.rejected)
        return cls(photo.id, photo.status, photo.created_at.isoformat(), photo.filename, photo.error,
                   photo.original_key, photo.flipped_key, photo.thumbnail_key, len(photo.faces), people, asked)

    @classmethod
    def loads(cls, raw: dict) -> Entry:
        asked = tuple((int(i), str(who), crop) for i, who, crop in raw.get("suggestions", ()))
        return cls(**{**raw, "person_ids": tuple(raw["person_ids"]), "suggestions": asked})


class PhotoIndex(Protocol):
    def newest_of(self, owner: str) -> Photo | None: ...
    def owned_by(self, owner: str, limit: int) -> list[Photo]: ...
    def owned_page(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Photo], str | None]: ...
    def owned_page_naming(self, owner: str, person_id: str, limit: int, cursor: str | None,
                          examined: int) -> tuple[list[Photo], str | None]: ...
    def many(self, photo_ids: list[str]) -> dict[str, Photo]: ...


class PeopleVersion(Protocol):
    def version(self) -> int: ...


@dataclass(frozen=True)
class Cached:
    version: int
    entries: tuple[Entry, ...]

    def dumps(self) -> bytes:
        return json.dumps({"version": self.version, "entries": [asdict(e) for e in self.entries]}).encode()

    @classmethod
    def loads(cls, raw: bytes | None) -> Cached | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(int(data["version"]), tuple(Entry.loads(e) for e in data["entries"]))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version of the code: rebuilt


def cache_key(owner: str) -> str:
    # memcached keys: at most 250 bytes, no spaces; an email is neither guaranteed
    return "photolane:gallery:" + hashlib.sha256(owner.encode()).hexdigest()


class Gallery:
    def __init__(self, photos: PhotoIndex, people: PeopleVersion, cache: Cache, ttl: int, size: int) -> None:
        self.photos = photos
        self.people = people
        self.cache = cache
        self.ttl = ttl
        self.size = size
        self.stats: Counter[str] = Counter()  # hit, miss, refreshed (this process)

    def entries(self, owner: str) -> list[Entry]:
        """The owner's photos, newest first, at most ``size``."""
        key = cache_key(owner)
        cached = Cached.loads(self.cache.get(key))
        newest = self.photos.newest_of(owner)
        if newest is None:
            return list(cached.entries) if cached else []
        version = self.people.version()
        if cached and cached.version == version and any(e.id == newest.id for e in cached.entries):
            self.stats["hit"] += 1
            return self._refreshed(key, cached)
        self.stats["miss"] += 1
        fetched = [Entry.of(p) for p in self.photos.owned_by(owner, self.size)]
        entries = _merged(fetched, cached.entries if cached else ())[: self.size]
        self.cache.set(key, Cached(version, tuple(entries)).dumps(), self.ttl)
        return entries

    def older(self, owner: str, cursor: str, person: str | None = None) -> tuple[list[Entry], str | None]:
        """A page of the owner's photos older than the cursor's (read from the index, not cached: a
        flood of new photos never hides the old ones), and the next page's cursor (raises BadCursor).
        ``person``: only the photos naming them, found among at most FILTER_EXAMINED photos a page."""
        photos, after = (self.photos.owned_page_naming(owner, person, self.size, cursor, FILTER_EXAMINED) if person
                         else self.photos.owned_page(owner, self.size, cursor))
        return [Entry.of(p) for p in photos], after

    def after(self, entries: list[Entry]) -> str | None:
        """The cursor of the photos older than a full page of entries (None: there are no more)."""
        if len(entries) < self.size:
            return None
        last = entries[-1]
        return older_than(datetime.fromisoformat(last.created_at), last.id)

    def added(self, owner: str, photo: Photo) -> None:
        """Write-through of a new upload (a gallery not cached yet is built on its next read)."""
        entry = Entry.of(photo)

        def change(raw: bytes | None) -> bytes | None:
            cached = Cached.loads(raw)
            if cached is None or any(e.id == entry.id for e in cached.entries):
                return None
            return Cached(cached.version, (entry, *cached.entries)[: self.size]).dumps()

        self.cache.update(cache_key(owner), change, self.ttl)

    def removed(self, owner: str, photo_id: str) -> None:
        """Write-through of a deleted photo: out of the cached gallery at once. (Without memcached,
        another worker's own cache may list it until its entry expires, PHOTOLANE_GALLERY_CACHE_SECONDS;
        its page says it was deleted.)"""

        def change(raw: bytes | None) -> bytes | None:
            cached = Cached.loads(raw)
            if cached is None or all(e.id != photo_id for e in cached.entries):
                return None
            return Cached(cached.version, tuple(e for e in cached.entries if e.id != photo_id)).dumps()

        self.cache.update(cache_key(owner), change, self.ttl)

    def _refreshed(self, key: str, cached: Cached) -> list[Entry]:
        """The cached entries, with those still pending read again (only they can change)."""
        pending = [e.id for e in cached.entries if e.status in PENDING]
        if not pending:
            return list(cached.entries)
        fresh = {pid: Entry.of(p) for pid, p in self.photos.many(pending).items()}
        changed = {pid: e for pid, e in fresh.items() if e != next(c for c in cached.entries if c.id == pid)}
        if changed:
            self.stats["refreshed"] += len(changed)

            def change(raw: bytes | None) -> bytes | None:
                current = Cached.loads(raw)
                if current is None:
                    return None
                return Cached(current.version, tuple(changed.get(e.id, e) for e in current.entries)).dumps()

            self.cache.update(key, change, self.ttl)
        return [changed.get(e.id, e) for e in cached.entries]


def _merged(fetched: list[Entry], cached: tuple[Entry, ...]) -> list[Entry]:
    """The index's entries, plus cached ones newer than its newest (written through, not indexed yet)."""
    if not fetched:
        return list(cached)
    known = {e.id for e in fetched}
    newer = [e for e in cached if e.id not in known and e.created_at > fetched[0].created_at]
    return sorted([*newer, *fetched], key=lambda e: (e.created_at, e.id), reverse=True)
