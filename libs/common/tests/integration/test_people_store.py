"""The people store against a real DynamoDB stand-in."""

import pytest

from photolane.testing import Stack
from photolane_common.collection import CollectionStore
from photolane_common.cursors import BadCursor, encode_cursor
from photolane_common.domain import DEFAULT_COLLECTION
from photolane_common.people import PeopleStore


def test_person_lifecycle_and_status_from_their_photos(stack: Stack) -> None:
    store = PeopleStore()
    person = store.create("p1", "Rose Leslie", {"role": "actor"}, "people/p1/a.jpg")
    assert (person.status, person.attributes) == ("enrolling", {"role": "actor"})
    store.photo_failed("p1", "people/p1/a.jpg", "no face found")
    assert (store.get("p1").status, store.get("p1").error) == ("failed", "no face found")
    store.add_photo("p1", "people/p1/b.jpg")
    assert store.get("p1").status == "enrolling"
    store.photo_enrolled("p1", "people/p1/b.jpg", b"\1" * 512)
    person = store.get("p1")
    assert (person.status, person.error, person.encodings) == ("enrolled", None, (b"\1" * 512,))
    assert [p.status for p in person.photos] == ["failed", "enrolled"]
    assert list(store.many(["p1", "nobody"])) == ["p1"]
    assert [p.id for p in store.all()] == ["p1"]
    assert store.delete("p1")
    assert not store.delete("p1")
    assert store.get("p1") is None


def test_version_counts_up_from_zero(stack: Stack) -> None:
    store = PeopleStore()
    assert store.version() == 0
    assert store.announce("p1") == 1
    assert store.announce("p2") == 2
    assert store.version() == 2
    assert store.feed.changes([1, 2, 3]) == {1: "p1", 2: "p2"}  # 3: not (yet) announced


def test_a_collections_people_are_listed_a_page_at_a_time_across_its_shards(stack: Stack) -> None:
    store = PeopleStore()
    assert CollectionStore().create("7b", "Class 7B", {}) is not None
    in_7b = {f"s{n:02d}" for n in range(30)}
    for person_id in in_7b:
        store.create(person_id, person_id, {}, f"people/{person_id}/1.jpg", "7b")
    for n in range(5):
        store.create(f"d{n}", f"d{n}", {}, f"people/d{n}/1.jpg")
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = store.page_of("7b", 7, cursor)
        seen += [p.id for p in page]
        pages += 1
        assert all(p.collection == "7b" for p in page) and len(page) <= 7
        if cursor is None:
            break
    assert sorted(seen) == sorted(in_7b) and pages >= 5
    default, _ = store.page_of(DEFAULT_COLLECTION, 100)
    assert {p.id for p in default} == {f"d{n}" for n in range(5)}
    assert {p.id for p in store.every_of("7b")} == in_7b
    other = encode_cursor({"pool": {"S": "8a#3"}})
    with pytest.raises(BadCursor):
        store.page_of("7b", 7, other)
