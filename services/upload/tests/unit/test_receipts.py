"""Upload receipts (receipts.py): bound to their photo, email, browser and hour, signed with the session key."""

import hashlib
import hmac
import uuid

import pytest

from photolane_upload.receipts import RECEIPT_SECONDS, BadReceipt, make_receipt, read_receipt
from photolane_upload.sessions import keyed_mark

KEY = b"test-session-key-not-a-secret"
BROWSER = "raw-csrf-token-of-this-browser"
NOW = 1_750_000_000


def _receipt(photo_id: str, email: str = "me@example.com", issued: int = NOW) -> str:
    return make_receipt(KEY, photo_id, email, BROWSER, issued)


def _refused(receipt: str, *, email: str = "me@example.com", binding: str | None = BROWSER, now: int = NOW,
             key: bytes = KEY) -> str:
    with pytest.raises(BadReceipt) as refused:
        read_receipt(key, receipt, email, binding, now)
    return refused.value.reason


def test_a_receipt_gives_back_its_photo_to_the_browser_and_email_it_was_made_for() -> None:
    photo_id = str(uuid.uuid4())
    receipt = _receipt(photo_id)
    assert read_receipt(KEY, receipt, "me@example.com", BROWSER, NOW) == photo_id
    assert read_receipt(KEY, receipt, "me@example.com", BROWSER, NOW + RECEIPT_SECONDS) == photo_id  # the hour
    assert "me@example.com" not in receipt and BROWSER not in receipt  # it names only the photo and a time


def test_an_altered_or_forged_receipt_is_refused() -> None:
    photo_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    receipt = _receipt(photo_id)
    _, issued, mark = receipt.split(".")
    assert _refused(f"{other}.{issued}.{mark}") == "forged"  # another photo under this photo's mark
    assert _refused(f"{photo_id}.{NOW + 1}.{mark}") == "forged"  # a later time under the same mark
    assert _refused(f"{photo_id}.{issued}.{'0' * 64}") == "forged"
    assert _refused(receipt, key=b"another key") == "forged"
    assert _refused(make_receipt(KEY, photo_id, "me@example.com", BROWSER, NOW).upper()) == "malformed"
    for junk in ("", photo_id, f"{photo_id}.{issued}", f"{receipt}.x", "../" * 40, f"{photo_id}.-1.{mark}"):
        assert _refused(junk) == "malformed", junk


def test_a_receipt_is_worth_nothing_for_another_email_or_in_another_browser() -> None:
    receipt = _receipt(str(uuid.uuid4()))
    assert _refused(receipt, email="someone@example.com") == "forged"
    assert _refused(receipt, email="ME@example.com") == "forged"  # the page claims with the owner: lower case
    assert _refused(receipt, binding="another-browsers-token") == "forged"
    assert _refused(receipt, binding=None) == "forged"  # a session without a form token: nothing to bind to
    assert _refused(receipt, binding="") == "forged"


def test_a_receipt_expires_after_an_hour_and_one_from_the_future_is_refused() -> None:
    receipt = _receipt(str(uuid.uuid4()))
    assert _refused(receipt, now=NOW + RECEIPT_SECONDS + 1) == "expired"
    assert _refused(receipt, now=NOW - 3600) == "expired"  # made "later" than now by more than a clock's skew
    assert read_receipt(KEY, receipt, "me@example.com", BROWSER, NOW - 30)  # a clock a little behind: taken


def test_every_mark_of_the_session_key_is_one_hmac_with_its_purpose() -> None:
    """The shared helper makes the very marks the cookie held before it (admin, sign-in asks), so no
    session changes meaning; a receipt's purpose is its own."""
    assert keyed_mark(KEY, "admin", "token") == hmac.new(KEY, b"admin:token", hashlib.sha256).hexdigest()
    assert keyed_mark(KEY, "signin-ask", "a@x.io") == hmac.new(KEY, b"signin-ask:a@x.io", hashlib.sha256).hexdigest()
    photo_id = str(uuid.uuid4())
    assert _receipt(photo_id).split(".")[2] != keyed_mark(KEY, "admin", photo_id)
