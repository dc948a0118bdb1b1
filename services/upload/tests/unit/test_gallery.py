"""The gallery's cache logic against an in-memory index that counts its reads (no AWS)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from photolane_common.domain import PROCESSED, PROCESSING, QUEUED, Face, Photo
from photolane_upload.cache import LocalCache
from photolane_upload.gallery import Gallery

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def photo(n: int, owner: str = "a@example.com", status: str = PROCESSED) -> Photo:
    at = T0 + timedelta(minutes=n)
    return Photo(id=f"p{n}", status=status, created_at=at, updated_at=at, content_type="image/jpeg",
                 original_key=f"originals/p{n}.jpg", email=owner, filename=f"{n}.jpg")


class Index:
    """The photos table as the gallery sees it; ``indexed`` lags behind ``records`` like a GSI may."""

    def __init__(self) -> None:
        self.records: dict[str, Photo] = {}
        self.indexed: set[str] = set()
        self.reads: Counter[str] = Counter()
        self.people = 0

    def put(self, p: Photo, indexed: bool = True) -> None:
        self.records[p.id] = p
        if indexed:
            self.indexed.add(p.id)

    def _owned(self, owner: str) -> list[Photo]:
        mine = [p for pid, p in self.records.items() if pid in self.indexed and p.email == owner]
        return sorted(mine, key=lambda p: p.created_at, reverse=True)

    def newest_of(self, owner: str) -> Photo | None:
        self.reads["newest"] += 1
        return next(iter(self._owned(owner)), None)

    def owned_by(self, owner: str, limit: int) -> list[Photo]:
        self.reads["query"] += 1
        return self._owned(owner)[:limit]

    def many(self, ids: list[str]) -> dict[str, Photo]:
        self.reads["batch"] += len(ids)
        return {i: self.records[i] for i in ids if i in self.records}

    def version(self) -> int:
        return self.people


def gallery(index: Index) -> Gallery:
    return Gallery(index, index, LocalCache(), ttl=60, size=10)


def ids(entries) -> list[str]:
    return [e.id for e in entries]


def test_a_second_read_is_a_hit_with_one_small_read() -> None:
    index = Index()
    for n in range(5):
        index.put(photo(n))
    index.put(photo(9, owner="b@example.com"))
    g = gallery(index)
    assert ids(g.entries("a@example.com")) == ["p4", "p3", "p2", "p1", "p0"]
    assert index.reads == {"newest": 1, "query": 1}
    assert ids(g.entries("a@example.com")) == ["p4", "p3", "p2", "p1", "p0"]
    assert index.reads == {"newest": 2, "query": 1}  # the hit: only the newest item was read
    assert g.stats == {"miss": 1, "hit": 1}


def test_an_upload_shows_at_once_even_before_the_index_has_it() -> None:
    index = Index()
    index.put(photo(1))
    g = gallery(index)
    g.entries("a@example.com")
    new = photo(2, status=QUEUED)
    index.put(new, indexed=False)
    g.added("a@example.com", new)
    assert ids(g.entries("a@example.com")) == ["p2", "p1"]
    assert index.reads["query"] == 1


def test_a_photo_finished_elsewhere_shows_on_the_next_read() -> None:
    index = Index()
    index.put(photo(1, status=QUEUED))
    g = gallery(index)
    assert g.entries("a@example.com")[0].status == QUEUED
    index.put(replace(photo(1), faces=(Face((1, 2, 3, 0), "person-1"),)))  # the processor, in another process
    first = g.entries("a@example.com")[0]
    assert (first.status, first.person_ids, first.faces) == (PROCESSED, ("person-1",), 1)
    assert g.stats["refreshed"] == 1 and index.reads["query"] == 1
    g.entries("a@example.com")
    assert index.reads["batch"] == 1  # nothing pending any more: no batch read


def test_processing_status_is_followed_too() -> None:
    index = Index()
    index.put(photo(1, status=QUEUED))
    g = gallery(index)
    g.entries("a@example.com")
    index.put(photo(1, status=PROCESSING))
    assert g.entries("a@example.com")[0].status == PROCESSING


def test_another_process_upload_or_a_people_change_rebuilds() -> None:
    index = Index()
    index.put(photo(1))
    g = gallery(index)
    g.entries("a@example.com")
    index.put(photo(2))  # uploaded through another worker: not written through this cache
    assert ids(g.entries("a@example.com")) == ["p2", "p1"]
    index.people += 1  # someone enrolled or deleted: names may have changed
    g.entries("a@example.com")
    assert g.stats == {"miss": 3}


def test_each_owner_sees_only_their_own() -> None:
    index = Index()
    index.put(photo(1, owner="a@example.com"))
    index.put(photo(2, owner="b@example.com"))
    g = gallery(index)
    assert ids(g.entries("a@example.com")) == ["p1"]
    assert ids(g.entries("b@example.com")) == ["p2"]
    assert g.entries("c@example.com") == []
