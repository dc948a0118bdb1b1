"""``photolane people import``: the roster (a CSV of people and their photos), without HTTP.

The format (README.md, Command line): UTF-8 (a BOM is fine), comma-separated, a header row first.
``name`` and ``photos`` are required; ``id`` (or ``external_id``, ``external id``, ``roster_id``)
is optional; every other column is an attribute. ``photos`` names one or more files relative to the
photos folder, separated by ``;`` or ``|``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME_COLUMNS = ("name",)
PHOTO_COLUMNS = ("photos", "photo")
ID_COLUMNS = ("id", "external_id", "external id", "roster_id")
ROSTER_ID = "roster_id"  # the attribute that keeps a row's id, to recognise it on the next run
MAX_PHOTOS = 10  # the API's limit for one enrollment call
PHOTO_SEPARATORS = re.compile(r"[;|]")


class RosterError(Exception):
    """The roster as a whole cannot be read; the message says why and what it should be."""


@dataclass
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    name: str
    roster_id: str | None
    attributes: dict[str, Any]
    photos: list[str]
    problem: str | None = None  # a row that cannot be sent: why

    @property
    def key(self) -> tuple[str, str]:
        """What recognises this person: the roster id when the row has one, else the name."""
        return ("id", self.roster_id) if self.roster_id else ("name", name_key(self.name))


@dataclass
class Roster:
    rows: list[Row]
    attribute_columns: list[str] = field(default_factory=list)
    has_ids: bool = False


def typed(raw: str) -> Any:
    """Numbers and true/false keep their type (as ``--attr`` does); anything else stays text."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, str | int | float | bool) else raw


def name_key(name: str) -> str:
    """Names compared as the service stores them (spaces collapsed), and without case."""
    return " ".join(name.split()).casefold()


def split_photos(cell: str) -> list[str]:
    return [part.strip() for part in PHOTO_SEPARATORS.split(cell) if part.strip()]


def read_roster(path: Path) -> Roster:
    """Every row of the roster at ``path``; rows that cannot be sent carry their ``problem``."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        raise RosterError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc
    except OSError as exc:
        raise RosterError(f"{path}: {exc.strerror or exc}") from exc
    return parse_roster(text, str(path))


def parse_roster(text: str, where: str = "the roster") -> Roster:
    records = list(csv.reader(io.StringIO(text, newline="")))
    skipped = 0
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
        skipped += 1
    if not records:
        raise RosterError(f"{where} is empty: it needs a header row (name,photos,…) and one row a person")
    header = [cell.strip() for cell in records[0]]
    columns = [cell.casefold() for cell in header]
    wanted = "the first row must be the header, naming the columns: at least 'name' and 'photos' " \
             "(comma-separated), e.g. name,photos,class"
    found = ", ".join(repr(c) for c in header[:6])
    name_col = _column(columns, NAME_COLUMNS)
    photo_col = _column(columns, PHOTO_COLUMNS)
    if name_col is None or photo_col is None:
        missing = "'name'" if name_col is None else "'photos'"
        hint = " (is it separated by ';' or tabs? use commas)" if len(header) == 1 and re.search(r"[;\t]", header[0]) \
            else ""
        raise RosterError(f"{where}: no {missing} column{hint}; {wanted}; found {found}")
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise RosterError(f"{where}: the header names {', '.join(map(repr, duplicated))} twice")
    if any(not c for c in columns):
        raise RosterError(f"{where}: column {columns.index('') + 1} of the header has no name")
    id_col = _column(columns, ID_COLUMNS)
    if sum(c in ID_COLUMNS for c in columns) > 1:
        ids = ", ".join(repr(h) for h, c in zip(header, columns, strict=True) if c in ID_COLUMNS)
        raise RosterError(f"{where}: give one id column, not {ids}")
    attribute_cols = [i for i in range(len(header)) if i not in (name_col, photo_col, id_col)]

    rows = []
    for number, record in enumerate(records[1:], 2 + skipped):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, e.g. at the end
        cells = [cell.strip() for cell in record] + [""] * (len(header) - len(record))
        roster_id = cells[id_col] if id_col is not None and cells[id_col] else None
        attributes: dict[str, Any] = {header[i]: typed(cells[i]) for i in attribute_cols if cells[i]}
        if roster_id is not None:
            attributes[ROSTER_ID] = roster_id  # text as written: 007 stays "007"
        row = Row(number, " ".join(cells[name_col].split()), roster_id, attributes, split_photos(cells[photo_col]))
        if len(record) > len(header):
            row.problem = f"{len(record)} cells but {len(header)} columns (a comma inside a cell needs quotes)"
        elif not row.name:
            row.problem = "no name"
        elif not row.photos:
            row.problem = "no photo named in the photos column"
        elif len(row.photos) > MAX_PHOTOS:
            row.problem = (f"{len(row.photos)} photos; at most {MAX_PHOTOS} a person "
                           "(add more with POST /api/people/<id>/photos)")
        rows.append(row)
    _mark_duplicates(rows)
    return Roster(rows, [header[i] for i in attribute_cols], id_col is not None)


def _column(columns: list[str], names: tuple[str, ...]) -> int | None:
    return next((i for i, c in enumerate(columns) if c in names), None)


def _mark_duplicates(rows: list[Row]) -> None:
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.problem is None:
            if row.key in first:
                what = "id" if row.key[0] == "id" else "name"
                row.problem = f"the same {what} as row {first[row.key]}"
            else:
                first[row.key] = row.number


def known_people(people: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The people already there, by roster id (when they have one) and by name.

    When several share a key, an enrolled (or enrolling) one wins over a failed one."""
    rank = {"enrolled": 0, "enrolling": 1}
    known: dict[tuple[str, str], dict[str, Any]] = {}
    for person in sorted(people, key=lambda p: rank.get(p.get("status", ""), 2), reverse=True):
        roster_id = (person.get("attributes") or {}).get(ROSTER_ID)
        if roster_id not in (None, ""):
            known[("id", str(roster_id))] = person
        known[("name", name_key(person["name"]))] = person
    return known


def problem_kind(error: str) -> str:
    """The failure a service or processor message is: no face, several faces, unreadable image, or refused."""
    text = error.lower()
    if "no face" in text:
        return "no face"
    if re.search(r"\d+ faces found", text):
        return "several faces"
    if "not a readable image" in text or "does not decode" in text or "cut short" in text:
        return "unreadable image"
    return "refused"
