"""The two face indexes every processor keeps in memory, each a Mirror of its table through a feed.

- the enrolled people (feed ``people_version``): one row per enrollment photo's encoding, owned by
  the person; faces of a new photo are matched against it.
- the unknown faces (feed ``unknown_faces``): one row per face nobody is named for, owned by its
  photo, tagged with its cluster; an enrollment searches it for the faces it names, and a new unknown
  face joins the cluster of the nearest one.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from photolane_common.aws import BlobStore
from photolane_common.feed import ChangeFeed
from photolane_common.people import PEOPLE_FEED, PeopleStore
from photolane_common.photos import UNKNOWN_FEED, PhotoStore

from .matching import FaceIndex, from_bytes
from .mirror import Mirror, MirrorSettings, Row


class PeopleSource:
    def __init__(self, store: PeopleStore) -> None:
        self.store = store

    def rows_of(self, ids: list[str]) -> dict[str, list[Row]]:
        return {person.id: _person_rows(person.photos) for person in self.store.many(ids).values()}

    def all_rows(self) -> Iterator[tuple[str, int, np.ndarray, str | None]]:
        for person in self.store.every():
            for slot, encoding, tag in _person_rows(person.photos):
                yield person.id, slot, encoding, tag


def _person_rows(photos: tuple) -> list[Row]:
    return [(slot, from_bytes(p.encoding), None) for slot, p in enumerate(photos) if p.encoding is not None]


class UnknownSource:
    def __init__(self, store: PhotoStore) -> None:
        self.store = store

    def rows_of(self, ids: list[str]) -> dict[str, list[Row]]:
        return {photo.id: _unknown_rows(photo.faces) for photo in self.store.many(ids).values()}

    def all_rows(self) -> Iterator[tuple[str, int, np.ndarray, str | None]]:
        for photo in self.store.every_with_unknown_faces():
            for slot, encoding, tag in _unknown_rows(photo.faces):
                yield photo.id, slot, encoding, tag


def _unknown_rows(faces: tuple) -> list[Row]:
    return [(i, from_bytes(f.encoding), f.cluster) for i, f in enumerate(faces)
            if f.person_id is None and f.encoding is not None]


class KnownPeople(Mirror):
    def __init__(self, store: PeopleStore, blobs: BlobStore, settings: MirrorSettings | None = None) -> None:
        super().__init__("people", ChangeFeed(PEOPLE_FEED), PeopleSource(store), blobs, settings)

    @property
    def index(self) -> FaceIndex:
        return FaceIndex(vectors=self.vectors)


class UnknownFaces(Mirror):
    def __init__(self, store: PhotoStore, blobs: BlobStore, settings: MirrorSettings | None = None) -> None:
        super().__init__("unknown", ChangeFeed(UNKNOWN_FEED), UnknownSource(store), blobs, settings)
