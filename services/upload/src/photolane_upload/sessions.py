"""Who the browser is: the signed session cookie (Flask's), set only by the web pages.

- ``owner``: the email of the gallery. Set by an upload through the form (or the claim of its receipt,
  when the upload page sends several at once: claims.py), or by a sign-in link.
- ``verified``: True only after a sign-in link (the person proved they read that mailbox). An
  upload alone proves nothing (anyone can type any email), so an unverified session sees only the
  photos uploaded from this browser (``uploads``), never the rest of that email's gallery.
- ``admin``: a keyed hash of the admin token, after a constant-time check of the token typed in;
  checked again on each request, so changing PHOTOLANE_ADMIN_TOKEN ends every admin session.
- ``sid``: the session's random id. Logging out revokes it server-side (the settings table), so a
  copy of the cookie, wherever it went, is refused from then on; a cookie without one is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flask import g, request, session

from .deps import current_deps
from .settings import UploadSettings

MAX_UPLOADS_REMEMBERED = 30  # the cookie stays well under 4 KB
MAX_SIGNIN_ASKS_REMEMBERED = 10  # addresses asked for within the sign-in interval (the cookie stays small)


@dataclass(frozen=True)
class Viewer:
    owner: str
    verified: bool
    uploads: tuple[str, ...]

    def may_see(self, photo_id: str) -> bool:
        return self.verified or photo_id in self.uploads


def _alive() -> bool:
    """The cookie's session was not logged out (checked once a request); a dead one is cleared."""
    if "session_alive" not in g:
        sid = session.get("sid")
        alive = isinstance(sid, str) and bool(sid) and not current_deps().revocations.revoked(sid)
        if not alive and any(k in session for k in ("owner", "admin", "uploads")):
            session.clear()
        g.session_alive = alive
    return g.session_alive


def _start(**values: object) -> None:
    """A new session id for a new identity (a cookie fixed by someone else is never promoted)."""
    keep = {k: session[k] for k in ("admin", "csrf_token") if k in session and _alive()}
    session.clear()
    session.update(keep, sid=secrets.token_urlsafe(18), **values)
    session.permanent = True
    g.session_alive = True


def viewer() -> Viewer | None:
    if not _alive():
        return None
    owner = session.get("owner")
    if not isinstance(owner, str) or not owner:
        return None
    uploads = session.get("uploads") or []
    return Viewer(owner, session.get("verified") is True, tuple(u for u in uploads if isinstance(u, str)))


def uploaded(email: str, photo_id: str) -> None:
    """After an upload through the form: the session follows the email given."""
    uploaded_many(email, [photo_id])


def uploaded_many(email: str, photo_ids: list[str]) -> bool:
    """After uploads through the form (``photo_ids`` in the order sent), in one answer: the session
    follows the email given, as for one upload. True when it started a new session (a new id; the old
    session's form token is gone unless that session was alive)."""
    current = viewer()
    newest = list(dict.fromkeys(reversed(photo_ids)))  # the gallery's order: newest first, each once
    if current is None or current.owner != email:
        _start(owner=email, verified=False, uploads=newest[:MAX_UPLOADS_REMEMBERED])
        return True
    if newest:  # nothing new: the cookie is left as it is (no Set-Cookie)
        kept = [u for u in current.uploads if u not in newest]
        session["uploads"] = [*newest, *kept][:MAX_UPLOADS_REMEMBERED]
        session.permanent = True
    return False


def receipt_binding() -> str | None:
    """What ties an upload's receipt to this browser: the raw CSRF token its cookie holds (Flask-WTF's,
    a secret only this cookie carries; kept across a new session of an alive one, see ``_start``)."""
    token = session.get("csrf_token")
    return token if isinstance(token, str) and token else None


def came_by_link(code: str) -> None:
    """After an upload through an upload link: "Upload another photo" goes back to it."""
    session["link"] = code


def last_link() -> str | None:
    code = session.get("link")
    return code if isinstance(code, str) and code else None


def owns(photo_id: str, email: str | None) -> bool:
    """May this browser see the upload's email and phone? Its uploader's session, or that email's
    signed-in owner."""
    current = viewer()
    if current is None:
        return False
    return photo_id in current.uploads or (current.verified and email is not None and
                                           current.owner == email.strip().lower())


def signed_in(email: str) -> None:
    """After a valid sign-in link: the whole gallery of that email."""
    _start(owner=email, verified=True, uploads=[])


def keyed_mark(secret: bytes, purpose: str, data: str) -> str:
    """HMAC-SHA256 (hex) of ``purpose:data`` under the session key: each purpose its own prefix, so a
    mark made for one is worth nothing as another. Every mark the sessions hold or hand out."""
    return hmac.new(secret, f"{purpose}:{data}".encode(), hashlib.sha256).hexdigest()


def session_secret(settings: UploadSettings) -> bytes:
    key = settings.session_key
    return key.get_secret_value().encode() if key else b""


def _address_mark(email: str) -> str:
    """A keyed hash of an address: the cookie is signed, not encrypted, and holds no address."""
    return keyed_mark(session_secret(current_deps().settings), "signin-ask", email)[:16]


def _signin_asks(within: int, now: float) -> dict[str, float]:
    asks = session.get("signin_asks")
    if not isinstance(asks, dict):
        return {}
    # Not ``0 <=``: an ask stamped a hair later (rounded up, or by an instance whose clock is ahead) is recent.
    return {m: t for m, t in asks.items() if isinstance(t, int | float) and now - t < within}


def signin_asked_at(email: str, within: int, now: float) -> float | None:
    """When this browser asked a sign-in link for ``email`` (an owner: lower case) less than ``within``
    seconds ago, else None. Only this browser's asks: nothing about anyone else's, or about photos."""
    return _signin_asks(within, now).get(_address_mark(email))


def signin_asked(email: str, within: int, now: float) -> None:
    """Remembers this browser's ask for ``email`` (the asks older than ``within`` are forgotten)."""
    asks = _signin_asks(within, now)
    asks[_address_mark(email)] = round(now, 3)
    newest = sorted(asks.items(), key=lambda item: item[1])[-MAX_SIGNIN_ASKS_REMEMBERED:]
    session["signin_asks"] = dict(newest)


def log_out(settings: UploadSettings) -> None:
    """Ends this session everywhere its cookie was copied, not only in this browser."""
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        current_deps().revocations.revoke(sid, settings.session_days * 86400)
    session.clear()


def _admin_mark(settings: UploadSettings) -> str | None:
    if settings.admin_token is None or settings.session_key is None:
        return None
    return keyed_mark(session_secret(settings), "admin", settings.admin_token.get_secret_value())


def token_matches(settings: UploadSettings, given: str | None) -> bool:
    """Constant-time comparison with PHOTOLANE_ADMIN_TOKEN (never matches when it is unset)."""
    expected = settings.admin_token
    if expected is None or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def bearer_is_admin(settings: UploadSettings) -> bool:
    """``Authorization: Bearer <PHOTOLANE_ADMIN_TOKEN>``, nothing else (not the bare token)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_matches(settings, given.strip())


def admin_signed_in(settings: UploadSettings) -> None:
    """A new session id with the admin mark (what a gallery session held is kept)."""
    current = viewer()
    values = {} if current is None else {"owner": current.owner, "verified": current.verified,
                                         "uploads": list(current.uploads)}
    _start(**values)
    session["admin"] = _admin_mark(settings)


def is_admin(settings: UploadSettings) -> bool:
    if not _alive():
        return False
    mark, given = _admin_mark(settings), session.get("admin")
    return mark is not None and isinstance(given, str) and hmac.compare_digest(given.encode(), mark.encode())


def admin_signed_out(settings: UploadSettings) -> None:
    """The admin session ends everywhere it was copied; this browser keeps its gallery in a new one."""
    current = viewer()
    log_out(settings)
    if current is not None:
        _start(owner=current.owner, verified=current.verified, uploads=list(current.uploads))
