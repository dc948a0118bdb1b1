"""The two face indexes every processor keeps in memory, each a Mirror of its table through a feed.

- the enrolled people (feed ``people_version``): one row a person, their template (the mean of their
  samples' encodings, policy.template); faces of a new photo are named against it by the policy.
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
from .policy import template

# What a row of the people index is; a snapshot of another kind (older versions kept a row per
# enrollment photo) is not loaded: the index is read from the table instead.
PEOPLE_ROWS = "templates"


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
    samples = [from_bytes(p.encoding) for p in photos if p.encoding is not None]
    return [(len(samples), template(samples), None)] if samples else []  # slot: how many samples


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
        super().__init__("people", ChangeFeed(PEOPLE_FEED), PeopleSource(store), blobs, settings,
                         kind=PEOPLE_ROWS)

    @property
    def index(self) -> FaceIndex:
        return FaceIndex(vectors=self.vectors)


class UnknownFaces(Mirror):
    def __init__(self, store: PhotoStore, blobs: BlobStore, settings: MirrorSettings | None = None) -> None:
        super().__init__("unknown", ChangeFeed(UNKNOWN_FEED), UnknownSource(store), blobs, settings)
