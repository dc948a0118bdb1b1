"""What the gallery page shows besides its cards: the days they fall on, the people to filter by, and
the "Who is this?" strip of unknown faces with a suggestion. No HTTP; the viewer's rights come in as
a function, so only the photos the viewer may see (and name) ever contribute."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from photolane_common.domain import Person, Photo

from .gallery import Entry
from .handlers import UploadDeps

STRIP_FACES = 8  # faces the strip asks about at most (the newest first)
PERSON_ID = re.compile(r"^[\w-]{1,64}$", re.ASCII)


def person_param(value: str | None) -> str | None:
    """The ``person`` asked for: an id's shape, or None (nothing else is ever looked up)."""
    return value if value and PERSON_ID.match(value) else None


@dataclass(frozen=True)
class Day:
    """A day of the gallery as the server knows it (UTC); the page's script regroups in local days."""

    iso: str  # 2026-05-01
    text: str  # Friday 1 May 2026
    photos: list[dict[str, Any]]


def days(items: list[dict[str, Any]]) -> list[Day]:
    """The cards, newest first, under a heading per day (consecutive: the list is in time order)."""
    grouped: list[Day] = []
    for item in items:
        moment = _moment(item["created_at"])
        iso = moment.date().isoformat() if moment else "unknown"
        if not grouped or grouped[-1].iso != iso:
            text = f"{moment:%A} {moment.day} {moment:%B %Y}" if moment else "Unknown date"
            grouped.append(Day(iso, text, []))
        grouped[-1].photos.append(item)
    return grouped


def _moment(iso: str) -> datetime | None:
    """gallery_items' ISO time (UTC), or None for a stamp it could not read."""
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def people_of(entries: Iterable[Entry], deps: UploadDeps) -> dict[str, Person]:
    """The people named in these entries (the viewer's own), by id: one batch read."""
    return deps.people.many(pid for e in entries for pid in e.person_ids)


def naming(entries: list[Entry], person: str) -> list[Entry]:
    return [e for e in entries if person in e.person_ids]


@dataclass(frozen=True)
class Question:
    """One face of the strip: "Is this <name>?", answered on the photo's page."""

    photo_id: str
    index: int
    person: Person
    crop_url: str | None
    filename: str | None


def who_is_this(entries: list[Entry], deps: UploadDeps, may_name: Callable[[Photo], bool]) -> list[Question]:
    """The newest unknown faces with a suggestion in these entries, still asked about by the records
    themselves (the cache may be a minute old: one consistent batch read of their photos), each in a
    photo ``may_name`` allows (the photo page's rule for who may answer)."""
    asked = [(e.id, i, who) for e in entries for i, who, _ in e.suggestions][: STRIP_FACES * 2]
    photos = deps.photos.many(pid for pid, _, _ in asked) if asked else {}
    still = [(photos[pid], i, who) for pid, i, who in asked if pid in photos and _asks(photos[pid], i, who)]
    still = [(photo, i, who) for photo, i, who in still if may_name(photo)][:STRIP_FACES]
    people = deps.people.many(who for _, _, who in still)
    url = lambda key: deps.blobs.url(key, deps.settings.presign_seconds)  # noqa: E731
    return [Question(photo.id, i, people[who], url(photo.faces[i].crop), photo.filename)
            for photo, i, who in still if who in people]


def _asks(photo: Photo, index: int, who: str) -> bool:
    if photo.status != "processed" or index >= len(photo.faces):
        return False
    face = photo.faces[index]
    return face.person_id is None and face.suggestion == who and who not in face.rejected
