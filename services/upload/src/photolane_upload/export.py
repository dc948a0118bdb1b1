"""The admin export: every photo and person record, streamed as JSON or CSV.

Records are written as they are read from the table, so an export of many photos never sits
in memory whole. Image keys, not presigned URLs: an export outlives any URL's expiry.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from photolane_common.domain import Person, Photo

_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
CSV_COLUMNS = (
    "record", "id", "status", "error", "created_at", "updated_at", "name", "filename", "email",
    "phone", "width", "height", "faces", "people", "attributes", "original_key", "flipped_key",
    "thumbnail_key", "results_key", "notifications", "collection",
)


def photo_record(photo: Photo, people: dict[str, Person]) -> dict[str, Any]:
    def name(person_id: str | None) -> str | None:
        return people[person_id].name if person_id in people else None

    return {
        "id": photo.id, "status": photo.status, "collection": photo.collection, "error": photo.error,
        "created_at": photo.created_at.isoformat(), "updated_at": photo.updated_at.isoformat(),
        "filename": photo.filename, "content_type": photo.content_type,
        "email": photo.email, "phone": photo.phone, "width": photo.width, "height": photo.height,
        "original_key": photo.original_key, "flipped_key": photo.flipped_key,
        "thumbnail_key": photo.thumbnail_key, "results_key": photo.results_key,
        "faces": [
            {"box": list(f.box), "person_id": f.person_id, "name": name(f.person_id), "distance": f.distance}
            for f in photo.faces
        ],
        "notifications": [
            {"channel": d.channel, "to": d.to, "status": d.status, "error": d.error,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in photo.deliveries
        ],
    }


def person_record(person: Person) -> dict[str, Any]:
    return {
        "id": person.id, "name": person.name, "collection": person.collection, "status": person.status,
        "error": person.error,
        "attributes": person.attributes, "created_at": person.created_at.isoformat(),
        "photos": [{"key": p.key, "status": p.status, "error": p.error} for p in person.photos],
    }


def export_json(photos: Iterable[Photo], people: list[Person]) -> Iterator[str]:
    """One JSON document ``{"exported_at", "people": [...], "photos": [...]}``, in chunks."""
    by_id = {p.id: p for p in people}
    yield json.dumps({"exported_at": datetime.now(UTC).isoformat()})[:-1]
    yield ', "people": ' + json.dumps([person_record(p) for p in people]) + ', "photos": ['
    for index, photo in enumerate(photos):
        yield ("," if index else "") + "\n" + json.dumps(photo_record(photo, by_id))
    yield "\n]}\n"


def export_csv(photos: Iterable[Photo], people: list[Person]) -> Iterator[str]:
    """One row per record; ``record`` says photo or person; lists and objects as JSON in a cell."""
    by_id = {p.id: p for p in people}
    yield _csv_line(CSV_COLUMNS)
    for person in people:
        record = person_record(person)
        yield _csv_line(_cells({**record, "record": "person", "photos": None}))
    for photo in photos:
        record = photo_record(photo, by_id)
        names = sorted({f["name"] for f in record["faces"] if f["name"]})
        yield _csv_line(_cells({**record, "record": "photo", "people": "; ".join(names)}))


def _cells(record: dict[str, Any]) -> list[Any]:
    return [_cell(record.get(column)) for column in CSV_COLUMNS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = json.dumps(value)
    return _defuse(value) if isinstance(value, str) else value


def _defuse(text: str) -> str:
    """A spreadsheet would run a cell starting with = + - @ as a formula (names and filenames are
    user input): such cells get a leading quote, except plain numbers such as E.164 phones."""
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _NUMBER.fullmatch(text)):
        return "'" + text
    return text


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(list(cells))
    return buffer.getvalue()
