"""Sign-in links: a signed, expiring, single-use token naming an email; asking for one never tells who
has photos, not even by the time the answer takes: every well-formed email gets the same work here
(a token, a link, one ``signin.requested`` message) and no read of the photos; the notifier decides
whether the email has photos, and sends the link only then.

The link goes to the email only: the one channel that proves who owns the gallery (a phone given with
an upload proves nothing: anyone can upload with someone else's email and their own phone). The token
rides in the link's fragment (``/signin/open#<token>``), which browsers never send in a request line,
so no server, proxy or load balancer log ever holds it; the page posts it back.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel

from photolane_common.domain import email_hash, owner_of
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


class Sender(Protocol):
    def send(self, data: BaseModel) -> str: ...


def request_link(raw_email: str | None, *, key: str, public_url: str, max_age: int, notifications: Sender) -> None:
    """Ask the notifier to send a sign-in link, to the email only; the caller answers the same either way.

    The same steps for every well-formed email, whether or not it has photos (no read of the photos
    here: its time would tell): the notifier looks the owner up, sends the link only when they have
    photos, at most one a ``PHOTOLANE_SIGNIN_INTERVAL_SECONDS``, to the spelling of their newest photo.
    Raises InvalidUpload for a malformed email (that says nothing about who has photos).
    """
    email = normalize_email(raw_email)
    owner = owner_of(email)
    if email is None or owner is None:
        raise InvalidUpload("enter the email you gave when uploading")
    link = signin_url(public_url, make_token(key, owner))
    notifications.send(SigninRequested(email=email, link=link, valid_seconds=max_age))
    log.info("signin.requested", extra={"email_hash": email_hash(owner)})
    metrics.count(SIGNIN_LINKS, status="requested")
