"""Upload receipts: how several form uploads with an email go up at once and all join the gallery.

An upload through the form adds its photo to the session cookie. Answers that overlap would each write
back a cookie missing the others' photos (the last one wins), so the upload page sends its photos with
``batch=1``: such an upload leaves the session alone and answers a receipt instead, and the page hands
its receipts to ``POST /uploads/claim`` (claims.py) one request at a time, which adds them all to the
session in one answer.

A receipt is ``<photo id>.<issued, unix seconds>.<mark>``: the mark is the session key's HMAC-SHA256
(sessions.keyed_mark, purpose ``upload-receipt``) over the photo id, the email (lower case), the time and
the browser's binding (sessions.receipt_binding: the raw CSRF token in its cookie). So a receipt is worth
nothing in another browser, for another email, altered, or after RECEIPT_SECONDS.
"""

from __future__ import annotations

import re
from hmac import compare_digest

from .deps import current_deps
from .sessions import keyed_mark, receipt_binding, session_secret

PURPOSE = "upload-receipt"
RECEIPT_SECONDS = 3600  # a page claims each receipt within seconds; an hour covers a slow batch
CLOCK_SKEW_SECONDS = 60  # issued by another instance whose clock is ahead: still taken
_RECEIPT = re.compile(r"([0-9a-f-]{36})\.([0-9]{1,12})\.([0-9a-f]{64})")  # a uuid4 (handlers)


class BadReceipt(ValueError):
    """A receipt this browser may not claim; ``reason`` is what the log says (never the receipt)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mark(secret: bytes, photo_id: str, email: str, binding: str, issued: int) -> str:
    return keyed_mark(secret, PURPOSE, "\0".join((photo_id, email, str(issued), binding)))


def make_receipt(secret: bytes, photo_id: str, email: str, binding: str, issued: int) -> str:
    """The receipt of ``photo_id``, uploaded with ``email`` (an owner: lower case) by this browser."""
    return f"{photo_id}.{issued}.{_mark(secret, photo_id, email, binding, issued)}"


def read_receipt(secret: bytes, receipt: str, email: str, binding: str | None, now: int) -> str:
    """The photo id of a receipt this browser (``binding``) made for ``email`` within the last
    RECEIPT_SECONDS; else BadReceipt ("malformed", "forged": altered, another browser's or email's,
    "expired")."""
    match = _RECEIPT.fullmatch(receipt)
    if match is None:
        raise BadReceipt("malformed")
    photo_id, issued, mark = match.group(1), int(match.group(2)), match.group(3)
    if not binding or not compare_digest(mark, _mark(secret, photo_id, email, binding, issued)):
        raise BadReceipt("forged")
    if not now - RECEIPT_SECONDS <= issued <= now + CLOCK_SKEW_SECONDS:
        raise BadReceipt("expired")
    return photo_id


def receipt_for(email: str | None, photo_id: str, now: int) -> str | None:
    """The receipt of a form upload sent with ``batch=1`` (in a request: this browser's binding);
    None without an email (nothing joins a gallery) or without a form token (nothing to bind to)."""
    binding = receipt_binding()
    if not email or not binding:
        return None
    return make_receipt(session_secret(current_deps().settings), photo_id, email, binding, now)


def read_receipts(receipts: list[str], email: str, now: int) -> tuple[list[str], dict[str, int]]:
    """The photo ids of the receipts this browser may claim for ``email``, in order, and how many were
    refused for each reason."""
    secret, binding = session_secret(current_deps().settings), receipt_binding()
    claimed: list[str] = []
    refused: dict[str, int] = {}
    for receipt in receipts:
        try:
            claimed.append(read_receipt(secret, receipt, email, binding, now))
        except BadReceipt as exc:
            refused[exc.reason] = refused.get(exc.reason, 0) + 1
    return claimed, refused
