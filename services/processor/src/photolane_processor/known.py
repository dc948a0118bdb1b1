"""The two face indexes a processor keeps in memory for each collection it works on, each a Mirror of
its table through the collection's feed (collection.py):

- the enrolled people (feed ``people_version``, ``people_version@<collection>``): one row a person,
  their template (the mean of their samples' encodings, policy.template); faces of a new photo of the
  collection are named against it by the policy.
- the unknown faces (feed ``unknown_faces``, ``unknown_faces@<collection>``): one row per face nobody
  is named for, owned by its photo, tagged with its cluster; an enrollment searches it for the faces it
  names, and a new unknown face joins the cluster of the nearest one.

``Indexes`` holds the collections in use, loading one on its first photo (from its snapshot, else its
rows) and letting the least recently used go when the rows held pass a bound.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from photolane_common.aws import BlobStore
from photolane_common.collection import index_name, people_feed, unknown_feed
from photolane_common.domain import DEFAULT_COLLECTION, ERASING, Photo
from photolane_common.feed import ChangeFeed
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore

from .matching import FaceIndex, from_bytes
from .mirror import Mirror, MirrorSettings, Row
from .policy import template

# What a row of the people index is; a snapshot of another kind (older versions kept a row per
# enrollment photo) is not loaded: the index is read from the table instead.
PEOPLE_ROWS = "templates"


log = logging.getLogger("photolane.processor.index")


class PeopleSource:
    def __init__(self, store: PeopleStore, collection: str = DEFAULT_COLLECTION) -> None:
        self.store = store
        self.collection = collection

    def rows_of(self, ids: list[str]) -> dict[str, list[Row]]:
        """Their rows; none for a person of another collection (the default feed hears of every change)."""
        return {person.id: _person_rows(person.photos) if person.collection == self.collection else []
                for person in self.store.many(ids).values()}

    def all_rows(self) -> Iterator[tuple[str, int, np.ndarray, str | None]]:
        for person in self.store.every_of(self.collection):
            for slot, encoding, tag in _person_rows(person.photos):
                yield person.id, slot, encoding, tag


def _person_rows(photos: tuple) -> list[Row]:
    samples = [from_bytes(p.encoding) for p in photos if p.encoding is not None]
    return [(len(samples), template(samples), None)] if samples else []  # slot: how many samples


class UnknownSource:
    def __init__(self, store: PhotoStore, collection: str = DEFAULT_COLLECTION) -> None:
        self.store = store
        self.collection = collection

    def rows_of(self, ids: list[str]) -> dict[str, list[Row]]:
        """Their rows; none for a photo of another collection, being erased, or gone (not in the answer)."""
        return {photo.id: _unknown_rows(photo.faces) if self._held(photo) else []
                for photo in self.store.many(ids).values()}

    def all_rows(self) -> Iterator[tuple[str, int, np.ndarray, str | None]]:
        for photo in self.store.every_with_unknown_faces(self.collection):
            for slot, encoding, tag in _unknown_rows(photo.faces) if self._held(photo) else []:
                yield photo.id, slot, encoding, tag

    def _held(self, photo: Photo) -> bool:
        return photo.collection == self.collection and photo.status != ERASING


def _unknown_rows(faces: tuple) -> list[Row]:
    return [(i, from_bytes(f.encoding), f.cluster) for i, f in enumerate(faces)
            if f.person_id is None and f.encoding is not None]


class KnownPeople(Mirror):
    def __init__(self, store: PeopleStore, blobs: BlobStore, settings: MirrorSettings | None = None,
                 collection: str = DEFAULT_COLLECTION) -> None:
        super().__init__(index_name("people", collection), ChangeFeed(people_feed(collection)),
                         PeopleSource(store, collection), blobs, settings, kind=PEOPLE_ROWS)

    @property
    def index(self) -> FaceIndex:
        return FaceIndex(vectors=self.vectors)


class UnknownFaces(Mirror):
    def __init__(self, store: PhotoStore, blobs: BlobStore, settings: MirrorSettings | None = None,
                 collection: str = DEFAULT_COLLECTION) -> None:
        super().__init__(index_name("unknown", collection), ChangeFeed(unknown_feed(collection)),
                         UnknownSource(store, collection), blobs, settings)


class Indexes:
    """The people and unknown-face indexes of the collections this processor works on. A collection is
    loaded on first use; when the rows held pass ``max_rows``, the least recently used collections are
    let go (the default one is kept: a deployment without collections has only it)."""

    def __init__(self, people: PeopleStore, photos: PhotoStore, blobs: BlobStore,
                 settings: MirrorSettings | None = None, max_rows: int = 800_000) -> None:
        self.people, self.photos, self.blobs, self.settings = people, photos, blobs, settings
        self.max_rows = max_rows
        self.held: OrderedDict[str, tuple[KnownPeople, UnknownFaces]] = OrderedDict()
        self._of(DEFAULT_COLLECTION)

    def known(self, collection: str = DEFAULT_COLLECTION) -> KnownPeople:
        return self._of(collection)[0]

    def unknown(self, collection: str = DEFAULT_COLLECTION) -> UnknownFaces:
        return self._of(collection)[1]

    def forget(self, collection: str) -> None:
        """A deleted collection's indexes let go (the default one is never deleted)."""
        if collection != DEFAULT_COLLECTION:
            self.held.pop(collection, None)

    def mirrors(self, recent: int | None = None) -> list[Mirror]:
        """Every index held, or those of the ``recent`` collections used last (most recent first)."""
        held = list(reversed(self.held.values()))
        return [mirror for pair in held[:recent] for mirror in pair]

    def _of(self, collection: str) -> tuple[KnownPeople, UnknownFaces]:
        pair = self.held.get(collection)
        if pair is None:
            pair = (KnownPeople(self.people, self.blobs, self.settings, collection),
                    UnknownFaces(self.photos, self.blobs, self.settings, collection))
            self.held[collection] = pair
        self.held.move_to_end(collection)
        self._let_go()
        return pair

    def _let_go(self) -> None:
        rows = sum(len(m.vectors) for m in self.mirrors())
        for collection in list(self.held)[:-1]:  # least recently used first; never the one just taken
            if rows <= self.max_rows:
                return
            if collection == DEFAULT_COLLECTION:
                continue
            known, unknown = self.held.pop(collection)
            rows -= len(known.vectors) + len(unknown.vectors)
            log.info("index.let_go", extra={"collection": collection, "rows": rows})
