"""Who the browser is: the signed session cookie (Flask's), set only by the web pages.

- ``owner``: the email of the gallery. Set by an upload through the form, or by a sign-in link.
- ``verified``: True only after a sign-in link (the person proved they read that mailbox). An
  upload alone proves nothing (anyone can type any email), so an unverified session sees only the
  photos uploaded from this browser (``uploads``), never the rest of that email's gallery.
- ``admin``: a keyed hash of the admin token, after a constant-time check of the token typed in;
  checked again on each request, so changing PHOTOLANE_ADMIN_TOKEN ends every admin session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import session

from .settings import UploadSettings

MAX_UPLOADS_REMEMBERED = 30  # the cookie stays well under 4 KB


@dataclass(frozen=True)
class Viewer:
    owner: str
    verified: bool
    uploads: tuple[str, ...]

    def may_see(self, photo_id: str) -> bool:
        return self.verified or photo_id in self.uploads


def viewer() -> Viewer | None:
    owner = session.get("owner")
    if not isinstance(owner, str) or not owner:
        return None
    uploads = session.get("uploads") or []
    return Viewer(owner, session.get("verified") is True, tuple(u for u in uploads if isinstance(u, str)))


def uploaded(email: str, photo_id: str) -> None:
    """After an upload through the form: the session follows the email given."""
    current = viewer()
    if current is None or current.owner != email:
        session.update(owner=email, verified=False, uploads=[photo_id])
    else:
        session["uploads"] = [photo_id, *current.uploads][:MAX_UPLOADS_REMEMBERED]
    session.permanent = True


def signed_in(email: str) -> None:
    """After a valid sign-in link: the whole gallery of that email."""
    keep = {k: session[k] for k in ("admin", "csrf_token") if k in session}
    session.clear()
    session.update(keep, owner=email, verified=True, uploads=[])
    session.permanent = True


def log_out() -> None:
    session.clear()


def _admin_mark(settings: UploadSettings) -> str | None:
    if settings.admin_token is None or settings.session_key is None:
        return None
    key = settings.session_key.get_secret_value().encode()
    return hmac.new(key, b"admin:" + settings.admin_token.get_secret_value().encode(), hashlib.sha256).hexdigest()


def token_matches(settings: UploadSettings, given: str | None) -> bool:
    """Constant-time comparison with PHOTOLANE_ADMIN_TOKEN (never matches when it is unset)."""
    expected = settings.admin_token
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def admin_signed_in(settings: UploadSettings) -> None:
    session["admin"] = _admin_mark(settings)
    session.permanent = True


def is_admin(settings: UploadSettings) -> bool:
    mark, given = _admin_mark(settings), session.get("admin")
    return mark is not None and isinstance(given, str) and hmac.compare_digest(given.encode(), mark.encode())


def admin_signed_out() -> None:
    session.pop("admin", None)
