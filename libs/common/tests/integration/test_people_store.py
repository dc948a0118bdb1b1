"""The people store against a real DynamoDB stand-in."""

from photolane.testing import Stack
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
