from datetime import UTC, datetime

from photolane_common.domain import Face, Photo
from photolane_notifier.text import compose, photo_link


def _photo(**fields: object) -> Photo:
    now = datetime.now(UTC)
    base = dict(id="p1", status="processed", created_at=now, updated_at=now, content_type="image/jpeg",
                original_key="originals/p1.jpg")
    return Photo(**{**base, **fields})


def test_processed_photo_note_counts_the_faces_and_links_the_photo() -> None:
    link = photo_link("http://127.0.0.1:5000/", "p1")
    assert link == "http://127.0.0.1:5000/photos/p1"
    note = compose(_photo(faces=(Face((0, 1, 1, 0)), Face((0, 2, 2, 1)))), link)
    assert note.sms == f"photolane: Your photo is ready: flipped copy, thumbnail and 2 faces found. {link}"
    assert note.subject == "Your photo is ready"
    assert link in note.text and f'href="{link}"' in note.html
    assert "1 face found" in compose(_photo(faces=(Face((0, 1, 1, 0)),)), link).sms
    assert "no faces found" in compose(_photo(), link).sms


def test_failed_photo_note_says_why() -> None:
    note = compose(_photo(status="failed", error="the image cannot be decoded"), "http://x/photos/p1")
    assert note.subject == "We could not process your photo"
    assert "We could not process your photo: the image cannot be decoded." in note.sms


def test_the_uploaders_file_name_never_reaches_the_message() -> None:
    note = compose(_photo(filename="Cheap pills at spam.example.jpg"), "http://x/photos/p1")
    assert not [part for part in (note.sms, note.subject, note.text, note.html) if "spam.example" in part]


def test_note_names_the_people_in_the_photo() -> None:
    faces = (Face((0, 1, 1, 0)), Face((0, 2, 2, 1)), Face((0, 3, 3, 2)))
    note = compose(_photo(faces=faces), "http://x/photos/p1", ["Barack Obama", "Joe Biden"])
    assert note.sms.startswith("photolane: Barack Obama and Joe Biden are in your photo (3 faces found)")
    assert "Rose Leslie is in your photo" in compose(_photo(faces=faces[:1]), "l", ["Rose Leslie"]).text
    assert "A, B and C are" in compose(_photo(faces=faces), "l", ["A", "B", "C"]).html


def test_signin_note_carries_the_link_escaped_in_html() -> None:
    from photolane_notifier.text import signin_note

    note = signin_note("http://x.example/signin/a.b-c?x=1&y=2", 30)
    assert "http://x.example/signin/a.b-c?x=1&y=2" in note.text and "30 minutes" in note.text
    assert 'href="http://x.example/signin/a.b-c?x=1&amp;y=2"' in note.html
    assert note.sms.endswith("http://x.example/signin/a.b-c?x=1&y=2")


def test_a_batch_is_one_line_for_all_its_photos_and_its_sms_one_part() -> None:
    from photolane_common.batch_links import new_code
    from photolane_common.metrics import sms_segments
    from photolane_notifier.text import batch_link, compose_batch

    faces = tuple(Face((0, 1, 1, 0), person_id=f"person-{n % 12}") for n in range(41))
    photos = [_photo(id="p1", faces=faces), *(_photo(id=f"p{n}") for n in range(2, 19))]
    code = new_code()
    link = batch_link("https://photos.example.org/", code)
    assert link == f"https://photos.example.org/batches/{code}" and len(code) == 16
    note = compose_batch(photos, 12, link, [photo_link("https://photos.example.org", p.id) for p in photos])
    assert note.sms == f"photolane: 18 photos processed: 41 faces, 12 people named. {link}"
    assert sms_segments(note.sms) == 1
    assert note.subject == "Your 18 photos are ready"
    assert f"See them here: {link}" in note.text and f'href="{link}"' in note.html
    assert "https://photos.example.org/photos/p18" in note.text
    assert 'href="https://photos.example.org/photos/p1"' in note.html

    two = compose_batch([_photo(faces=faces[:1]), _photo(id="p2", status="failed", error="not an image")], 1, link,
                        [])
    assert "2 photos: 1 processed (1 face, 1 person named), 1 could not be processed" in two.sms
    assert two.subject == "Your 2 photos"
    # The longest line (some failed), the page's link: still one GSM-7 part (no unicode dash, no UCS-2).
    assert sms_segments(two.sms.replace("2 photos: 1", "18 photos: 17")) == 1 and two.sms.isascii()
