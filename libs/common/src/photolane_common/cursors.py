"""Page cursors: DynamoDB's start key of the next page, as an opaque URL-safe string.

A cursor is read back only as a small JSON object of typed key values (strings and numbers) under
the key names the tables use. A service that hands cursors out (the upload service, with its session
key: ``sign_with``) signs each one (HMAC-SHA256) and takes back only those it signed, so a cursor
made outside is refused (BadCursor: a 400 with a sentence) before DynamoDB sees it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

KEY_NAMES = frozenset({"id", "group", "face", "listing", "size", "name", "pool", "created_at"})


_signing: list[bytes] = []  # the key cursors are signed with in this process (none: not signed)


class BadCursor(ValueError):
    """A page cursor that this service did not make."""


def sign_with(secret: bytes) -> None:
    """Sign every cursor made from now on, and take back only signed ones (the upload service's start)."""
    _signing[:] = [hashlib.sha256(b"photolane cursors\0" + secret).digest()]


def _signature(payload: str) -> str:
    mac = hmac.new(_signing[0], payload.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(mac).decode()


def encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    payload = base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()
    return f"{payload}.{_signature(payload)}" if _signing else payload


def decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    payload = cursor
    if _signing:
        payload, _, signature = cursor.partition(".")
        if not hmac.compare_digest(signature.encode(), _signature(payload).encode()):
            raise BadCursor("not a cursor from this service")
    try:
        key = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("not a cursor from this service") from exc
    if not isinstance(key, dict) or not key or set(key) - KEY_NAMES or not all(_typed(v) for v in key.values()):
        raise BadCursor("not a cursor from this service")
    return key


def _typed(value: object) -> bool:
    """One DynamoDB-typed string or number: {"S": "..."} or {"N": "..."}."""
    return (isinstance(value, dict) and len(value) == 1 and set(value) <= {"S", "N"}
            and isinstance(next(iter(value.values())), str))
