"""Sign-in links: a signed, expiring token naming an email; asking for one never tells who has photos."""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel

from photolane_common.domain import Photo, owner_of
from photolane_common.messages import SigninRequested

from .validation import InvalidUpload, normalize_email

log = logging.getLogger("photolane.upload.signin")

SALT = "photolane-signin"  # a token made for sign-in is worth nothing elsewhere the key signs


class LinkExpired(Exception):
    """The link was valid but is older than its max age."""


class LinkInvalid(Exception):
    """Tampered with, cut, or signed with another key."""


def make_token(key: str, email: str) -> str:
    return URLSafeTimedSerializer(key, salt=SALT).dumps({"email": email})


def read_token(key: str, token: str, max_age: int) -> str:
    """The email the token names (raises LinkExpired or LinkInvalid)."""
    try:
        data = URLSafeTimedSerializer(key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired() from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("email"), str):
        raise LinkInvalid()
    return data["email"]


def email_hash(email: str) -> str:
    """What the logs and the throttle use instead of the address."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:16]


class Owners(Protocol):
    def newest_of(self, owner: str) -> Photo | None: ...


class Throttle(Protocol):
    def allow(self, key: str, interval_seconds: int) -> bool: ...


class Sender(Protocol):
    def send(self, data: BaseModel) -> str: ...


def request_link(raw_email: str | None, *, key: str, public_url: str, interval: int, max_age: int, photos: Owners,
                 throttle: Throttle, notifications: Sender) -> None:
    """Send a sign-in link when the email has photos; the caller answers the same either way.

    Raises InvalidUpload for a malformed email (that says nothing about who has photos).
    """
    email = normalize_email(raw_email)
    if email is None:
        raise InvalidUpload("enter the email you gave when uploading")
    owner = owner_of(email)
    who = {"email_hash": email_hash(owner)}
    newest = photos.newest_of(owner)
    if newest is None:
        log.info("signin.no_photos", extra=who)
        return
    if not throttle.allow(f"signin:{email_hash(owner)}", interval):
        log.info("signin.throttled", extra=who)
        return
    link = f"{public_url.rstrip('/')}/signin/{make_token(key, owner)}"
    notifications.send(SigninRequested(email=newest.email or email, phone=newest.phone, link=link,
                                       valid_seconds=max_age))
    log.info("signin.requested", extra={**who, "sms": newest.phone is not None})
