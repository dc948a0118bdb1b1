"""The people table behind a small interface, and the version that tells when it changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from .collection import people_feed, people_pool, people_pools
from .cursors import BadCursor, decode_cursor, encode_cursor
from .domain import DEFAULT_COLLECTION, ENROLLING, FAILED, Person, PersonPhoto, person_status
from .feed import ChangeFeed
from .models import PersonModel, PersonPhotoAttribute, SettingModel
from .optimistic import changed

# The default collection's people's change feed (feed.py); its counter is the people version the
# gallery's cache keys on. Every change of any collection is announced on it too (so the cache hears
# of renames anywhere); a collection's own feed (collection.people_feed) drives its index.
PEOPLE_FEED = people_feed(DEFAULT_COLLECTION)
BATCH = 100  # BatchGetItem's limit
# Set once every person of the default collection carries its pool (people.py's first load, or a new
# table): from then on the default collection is read by its index, like any other, never by a scan.
POOLED = "people_pooled"


def _to_person(item: PersonModel) -> Person:
    photos = tuple(PersonPhoto(p.key, p.status, p.error, p.encoding, p.source) for p in item.photos or [])
    return Person(id=item.id, name=item.name, status=item.status, created_at=item.created_at,
                  attributes=item.attributes or {}, error=item.error, photos=photos,
                  collection=item.collection or DEFAULT_COLLECTION)


class PeopleStore:
    def __init__(self) -> None:
        self.feed = ChangeFeed(PEOPLE_FEED)
        self._pooled = False  # once seen set, the marker stays set

    def pooled(self) -> bool:
        """Whether every default person carries its pool (people from before collections carried none)."""
        if not self._pooled:
            try:
                self._pooled = bool(SettingModel.get(POOLED, consistent_read=True).value)
            except DoesNotExist:
                pass
        return self._pooled

    def mark_pooled(self) -> None:
        """Every default person carries its pool (a new table; or the marking scan got to its end)."""
        SettingModel(POOLED, value=True).save()
        self._pooled = True

    def create(self, person_id: str, name: str, attributes: dict[str, object],
               photo_keys: str | Sequence[str], collection: str = DEFAULT_COLLECTION) -> Person:
        """A new person of a collection, enrolling from one photo (a key) or several (a list of keys)."""
        keys = [photo_keys] if isinstance(photo_keys, str) else list(photo_keys)
        now = datetime.now(UTC)
        item = PersonModel(person_id, name=name, status=ENROLLING, attributes=attributes, created_at=now,
                           updated_at=now, photos=[PersonPhotoAttribute(key=k, status=ENROLLING) for k in keys],
                           collection=None if collection == DEFAULT_COLLECTION else collection,
                           pool=people_pool(collection, person_id))
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

    def page_of(self, collection: str, limit: int, cursor: str | None = None) -> tuple[list[Person], str | None]:
        """Up to ``limit`` people of one collection, and the next page's cursor or None (raises BadCursor),
        shard by shard of its index (the default collection by a filtered scan until its people are pooled)."""
        start = decode_cursor(cursor)
        if collection == DEFAULT_COLLECTION and not self.pooled():
            items = PersonModel.scan(filter_condition=PersonModel.collection.does_not_exist(), limit=limit,
                                     page_size=limit, last_evaluated_key=start)
            people = [_to_person(item) for item in items]
            return people, encode_cursor(items.last_evaluated_key) if len(people) == limit else None
        pools = people_pools(collection)
        first = pools.index(start["pool"]["S"]) if start and start.get("pool", {}).get("S") in pools else 0
        if start and first == 0 and start.get("pool", {}).get("S") != pools[0]:
            raise BadCursor("not a cursor of this collection")
        ids: list[str] = []
        for n in range(first, len(pools)):
            key = start if n == first and start and "id" in start else None
            found = PersonModel.collection_index.query(pools[n], limit=limit - len(ids), page_size=limit - len(ids),
                                                       last_evaluated_key=key)
            ids += [item.id for item in found]
            if len(ids) == limit:
                after = found.last_evaluated_key or ({"pool": {"S": pools[n + 1]}} if n + 1 < len(pools) else None)
                people = self.many(ids)
                return [people[i] for i in ids if i in people], encode_cursor(after)
        people = self.many(ids)
        return [people[i] for i in ids if i in people], None

    def named(self, name: str, limit: int = 10) -> list[Person]:
        """The people with exactly this name (an index query, then their records)."""
        ids = [item.id for item in PersonModel.name_index.query(name, limit=limit)]
        return sorted(self.many(ids).values(), key=lambda p: p.created_at)

    def every(self) -> Iterator[Person]:
        """Every person, page by page, in no order (never all at once)."""
        return (_to_person(item) for item in PersonModel.scan())

    def every_of(self, collection: str) -> Iterator[Person]:
        """Every person of a collection, in no order (a processor's first load of its index), by the
        shards of the people-by-collection index and batch reads. The default collection's people from
        before collections carry no pool: the first such load reads them by a scan and marks them, once."""
        if collection == DEFAULT_COLLECTION and not self.pooled():
            yield from self._mark_default_people()
            return
        for pool in people_pools(collection):
            ids = [item.id for item in PersonModel.collection_index.query(pool)]
            for start in range(0, len(ids), BATCH):
                yield from self.many(ids[start:start + BATCH]).values()

    def _mark_default_people(self) -> Iterator[Person]:
        """The default collection's people by a scan, each without a pool given one (idempotent: a load
        killed half-way leaves the marker unset, and the next load marks the rest)."""
        for item in PersonModel.scan(filter_condition=PersonModel.collection.does_not_exist()):
            if item.pool is None:
                pool = people_pool(DEFAULT_COLLECTION, item.id)
                try:
                    PersonModel(item.id).update(actions=[PersonModel.pool.set(pool)],
                                                condition=PersonModel.id.exists(), add_version_condition=False)
                except Exception as exc:  # noqa: BLE001 - pynamodb's UpdateError: deleted meanwhile
                    if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                        raise
                    continue
            yield _to_person(item)
        self.mark_pooled()

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
        """Changes whenever the set of known encodings changes, in any collection (one read, no scan)."""
        return self.feed.head()

    def announce(self, person_id: str, collection: str = DEFAULT_COLLECTION) -> int:
        """After a change of this person's encodings (enrolled, deleted): every processor applies it (the
        collection's feed; another collection's change is told to the default feed too, as the
        gallery's cache keys on it)."""
        if collection != DEFAULT_COLLECTION:
            ChangeFeed(people_feed(collection)).announce(person_id)
        return self.feed.announce(person_id)

    def _set_photo(self, person_id: str, key: str, done: PersonPhoto) -> Person | None:
        return self._change(person_id, lambda photos: [done if p.key == key else p for p in photos])

    def _change(self, person_id: str, change: Callable[[list[PersonPhoto]], list[PersonPhoto]]) -> Person | None:
        """Read-modify-write of the photos; the version attribute catches a concurrent writer."""

        def photos_changed(item: PersonModel) -> None:
            photos = tuple(change(list(_to_person(item).photos)))
            item.photos = [PersonPhotoAttribute(key=p.key, status=p.status, error=p.error, encoding=p.encoding,
                                                source=p.source) for p in photos]
            item.status, item.error = person_status(photos)
            item.updated_at = datetime.now(UTC)

        item = changed(PersonModel, person_id, photos_changed)
        return _to_person(item) if item is not None else None
