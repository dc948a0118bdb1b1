"""The enrolled people in memory: one matrix, rebuilt only when the people version changes."""

from __future__ import annotations

import logging

from photolane_common.domain import Person
from photolane_common.people import PeopleStore

from .matching import FaceIndex, from_bytes

log = logging.getLogger("photolane.processor.people")


class KnownPeople:
    def __init__(self, store: PeopleStore) -> None:
        self.store = store
        self.version: int | None = None
        self.index = FaceIndex()
        self.people: dict[str, Person] = {}

    def refresh(self) -> None:
        """One read of the version per call; a scan of the people only when it moved."""
        version = self.store.version()  # read first: a change during the scan shows next time
        if version == self.version:
            return
        people = self.store.all()
        self.people = {person.id: person for person in people}
        self.index = FaceIndex((p.id, from_bytes(e)) for p in people for e in p.encodings)
        self.version = version
        log.info("people.loaded", extra={"people": len(people), "encodings": len(self.index), "version": version})
