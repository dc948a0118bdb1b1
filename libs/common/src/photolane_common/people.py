"""The people table behind a small interface, and the version that tells when it changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from .cursors import decode_cursor, encode_cursor
from .domain import ENROLLING, FAILED, Person, PersonPhoto, person_status
from .feed import ChangeFeed
from .models import PersonModel, PersonPhotoAttribute

# The people's change feed (feed.py); its counter is the people version the gallery's cache keys on.
PEOPLE_FEED = "people_version"


def _to_person(item: PersonModel) -> Person:
    photos = tuple(PersonPhoto(p.key, p.status, p.error, p.encoding, p.source) for p in item.photos or [])
    return Person(id=item.id, name=item.name, status=item.status, created_at=item.created_at,
                  attributes=item.attributes or {}, error=item.error, photos=photos)


class PeopleStore:
    def __init__(self) -> None:
        self.feed = ChangeFeed(PEOPLE_FEED)

    def create(self, person_id: str, name: str, attributes: dict[str, object],
               photo_keys: str | Sequence[str]) -> Person:
        """A new person, enrolling from one photo (a key) or several (a list of keys)."""
        keys = [photo_keys] if isinstance(photo_keys, str) else list(photo_keys)
        now = datetime.now(UTC)
        item = PersonModel(person_id, name=name, status=ENROLLING, attributes=attributes, created_at=now,
                           updated_at=now, photos=[PersonPhotoAttribute(key=k, status=ENROLLING) for k in keys])
        item.save(condition=PersonModel.id.does_not_exist())
        return _to_person(item)

    def get(self, person_id: str) -> Person | None:
        try:
            return _to_person(PersonModel.get(person_id, consistent_read=True))
        except DoesNotExist:
            return None

    def many(self, person_ids: Iterable[str]) -> dict[str, Person]:
        """Several people in batch reads, consistent: a feed entry may name a person written just now."""
        ids = sorted(set(person_ids))
        return {item.id: _to_person(item) for item in PersonModel.batch_get(ids, consistent_read=True)} if ids else {}

    def all(self) -> list[Person]:
        return sorted(self.every(), key=lambda p: (p.name.lower(), p.id))

    def page(self, limit: int, cursor: str | None = None) -> tuple[list[Person], str | None]:
        """Up to ``limit`` people (in no order: a table read a page at a time, never everyone at once), and
        the cursor of the next page or None (raises BadCursor)."""
        items = PersonModel.scan(limit=limit, page_size=limit, last_evaluated_key=decode_cursor(cursor))
        people = [_to_person(item) for item in items]
        return people, encode_cursor(items.last_evaluated_key) if len(people) == limit else None

    def named(self, name: str, limit: int = 10) -> list[Person]:
        """The people with exactly this name (an index query, then their records)."""
        ids = [item.id for item in PersonModel.name_index.query(name, limit=limit)]
        return sorted(self.many(ids).values(), key=lambda p: p.created_at)

    def every(self) -> Iterator[Person]:
        """Every person, page by page, in no order (a processor's first load: never all at once)."""
        return (_to_person(item) for item in PersonModel.scan())

    def add_photo(self, person_id: str, photo_key: str) -> Person | None:
        return self._change(person_id, lambda photos: [*photos, PersonPhoto(photo_key, ENROLLING)])

    def photo_enrolled(self, person_id: str, photo_key: str, encoding: bytes,
                       source: str | None = None) -> Person | None:
        """The sample's encoding (and the face it was taken from, if any): the photo is enrolled."""
        return self._set_photo(person_id, photo_key, PersonPhoto(photo_key, "enrolled", None, encoding, source))

    def photo_failed(self, person_id: str, photo_key: str, error: str) -> Person | None:
        return self._set_photo(person_id, photo_key, PersonPhoto(photo_key, FAILED, error[:500]))

    def take_photos(self, person_id: str, photos: Sequence[PersonPhoto]) -> Person | None:
        """Add these photos (encodings included) unless the person has them already (a merge)."""
        return self._change(person_id, lambda mine: [*mine, *(p for p in photos if p.key not in {m.key for m in mine})])

    def remove_photo(self, person_id: str, *photo_keys: str) -> Person | None:
        """Photos (and their encodings) no longer of this person."""
        return self._change(person_id, lambda photos: [p for p in photos if p.key not in photo_keys])

    def update(self, person_id: str, name: str | None = None,
               attributes: dict[str, object] | None = None) -> Person | None:
        """A new name and/or attributes (None leaves one as it is); None when there is no such person."""
        actions = [PersonModel.updated_at.set(datetime.now(UTC))]
        actions += [PersonModel.name.set(name)] if name is not None else []
        actions += [PersonModel.attributes.set(attributes)] if attributes is not None else []
        try:
            PersonModel(person_id).update(actions=actions, condition=PersonModel.id.exists(),
                                          add_version_condition=False)
        except Exception as exc:  # noqa: BLE001 - pynamodb's UpdateError: absent is the only expected cause
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise
        return self.get(person_id)

    def delete(self, person_id: str) -> bool:
        try:
            # Whatever its version: a deletion wins over a concurrent enrollment.
            PersonModel(person_id).delete(condition=PersonModel.id.exists(), add_version_condition=False)
        except Exception as exc:  # noqa: BLE001 - pynamodb's DeleteError: absent is the only expected cause
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def version(self) -> int:
        """Changes whenever the set of known encodings changes (one read, no scan)."""
        return self.feed.head()

    def announce(self, person_id: str) -> int:
        """After a change of this person's encodings (enrolled, deleted): every processor applies it."""
        return self.feed.announce(person_id)

    def _set_photo(self, person_id: str, key: str, done: PersonPhoto) -> Person | None:
        return self._change(person_id, lambda photos: [done if p.key == key else p for p in photos])

    def _change(self, person_id: str, change: Callable[[list[PersonPhoto]], list[PersonPhoto]],
                attempts: int = 5) -> Person | None:
        """Read-modify-write of the photos; the version attribute catches a concurrent writer."""
        for _ in range(attempts):
            try:
                item = PersonModel.get(person_id, consistent_read=True)
            except DoesNotExist:
                return None
            photos = tuple(change(list(_to_person(item).photos)))
            item.photos = [PersonPhotoAttribute(key=p.key, status=p.status, error=p.error, encoding=p.encoding,
                                                source=p.source) for p in photos]
            item.status, item.error = person_status(photos)
            item.updated_at = datetime.now(UTC)
            try:
                item.save()
            except PutError as exc:
                if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                    continue
                raise
            return _to_person(item)
        raise RuntimeError(f"person {person_id} kept changing under {attempts} attempts")
