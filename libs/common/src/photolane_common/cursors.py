"""Page cursors: DynamoDB's start key of the next page, as an opaque URL-safe string.

A cursor is read back only as a small JSON object of typed key values (strings and numbers) under
the key names the tables use, so a forged one can at most start a page elsewhere in the same listing.
"""

from __future__ import annotations

import base64
import json

KEY_NAMES = frozenset({"id", "group", "face", "listing", "size", "name", "pool"})


class BadCursor(ValueError):
    """A page cursor that this service did not make."""


def encode_cursor(key: dict | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode() if key else None


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("not a cursor from this service") from exc
    if not isinstance(key, dict) or not key or set(key) - KEY_NAMES or not all(_typed(v) for v in key.values()):
        raise BadCursor("not a cursor from this service")
    return key


def _typed(value: object) -> bool:
    """One DynamoDB-typed string or number: {"S": "..."} or {"N": "..."}."""
    return (isinstance(value, dict) and len(value) == 1 and set(value) <= {"S", "N"}
            and isinstance(next(iter(value.values())), str))
