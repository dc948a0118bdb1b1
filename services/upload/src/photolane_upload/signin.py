"""Sign-in links: a signed, expiring, single-use token naming an email; asking for one never tells who
has photos.

The link goes to the email only: the one channel that proves who owns the gallery (a phone given with
an upload proves nothing: anyone can upload with someone else's email and their own phone). The token
rides in the link's fragment (``/signin/open#<token>``), which browsers never send in a request line,
so no server, proxy or load balancer log ever holds it; the page posts it back.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel

from photolane_common.domain import Photo, owner_of
from photolane_common.messages import SigninRequested
from photolane_common.metrics import SIGNIN_LINKS, metrics

from .validation import InvalidUpload, normalize_email

log = logging.getLogger("photolane.upload.signin")

SALT = "photolane-signin"  # a token made for sign-in is worth nothing elsewhere the key signs


class LinkExpired(Exception):
    """The link was valid but is older than its max age."""


class LinkInvalid(Exception):
    """Tampered with, cut, or signed with another key."""


class LinkUsed(Exception):
    """The link was used already: each works once."""


@dataclass(frozen=True)
class LinkClaim:
    email: str
    nonce: str  # marks the link used, once


def make_token(key: str, email: str) -> str:
    return URLSafeTimedSerializer(key, salt=SALT).dumps({"email": email, "n": secrets.token_urlsafe(12)})


def read_token(key: str, token: str, max_age: int) -> LinkClaim:
    """The email and nonce the token names (raises LinkExpired or LinkInvalid)."""
    try:
        data = URLSafeTimedSerializer(key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkExpired() from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("email"), str) or not isinstance(data.get("n"), str):
        raise LinkInvalid()
    return LinkClaim(data["email"], data["n"])


def token_of(pasted: str | None) -> str:
    """The token from what the page posts: the fragment, or a whole link pasted by hand."""
    text = (pasted or "").strip()
    return text.rsplit("#", 1)[-1].strip()[:2000]


class Marks(Protocol):
    def use(self, nonce: str, keep_seconds: int) -> bool: ...


def open_link(pasted: str | None, *, key: str, max_age: int, used: Marks) -> str:
    """The email a link signs in, once (raises LinkExpired, LinkInvalid or LinkUsed)."""
    claim = read_token(key, token_of(pasted), max_age)
    if not used.use(claim.nonce, max_age):
        log.info("signin.link_reused", extra={"email_hash": email_hash(claim.email)})
        raise LinkUsed()
    log.info("signin.opened", extra={"email_hash": email_hash(claim.email)})
    return claim.email


def signin_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/signin/open#{token}"


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
    """Send a sign-in link, to the email only, when it has photos; the caller answers the same either way.

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
    link = signin_url(public_url, make_token(key, owner))
    notifications.send(SigninRequested(email=newest.email or email, link=link, valid_seconds=max_age))
    log.info("signin.requested", extra=who)
    metrics.count(SIGNIN_LINKS, status="requested")
