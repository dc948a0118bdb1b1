"""State-changing requests that a browser sends on another site's behalf are refused (403).

A page on any site can make its visitor's browser send us a POST (a form, or ``fetch`` with a body
that needs no CORS preflight): with the visitor's cookies, or without any, e.g. an anonymous upload
whose SMS goes to a number the attacking page chose. Browsers say where such a request comes from,
in headers a page cannot set (``Sec-Fetch-Site``, ``Origin``), so a POST, PUT, PATCH or DELETE that
they mark as coming from elsewhere is refused on every route, the API included, before any view (or
CSRF check, or limit) runs. Clients that send neither header (the CLI, curl, scripts) are nobody's
browser and pass as before.

"Ours" is the request's own origin as Flask sees it (after ProxyFix) and the origin of
``PHOTOLANE_PUBLIC_URL`` (behind CloudFront the Host the app sees may not be the public one).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue

from .logged_paths import logged_path

log = logging.getLogger("photolane.upload.http")

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REASON = "A request sent from another site's page cannot change anything here."

Origin = tuple[str, str, int]  # scheme, host, port (the default port filled in)


def origin_of(url: str) -> Origin | None:
    """The origin of a URL or of an ``Origin`` header's value; None when it is none (``null``, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # a port that is no number raises
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def is_cross_site(method: str, fetch_site: str | None, origin: str | None, ours: set[Origin]) -> bool:
    """True when a browser marks this state-changing request as sent from a page that is not ours.

    ``same-origin`` and ``none`` pass; ``same-site`` (another port or subdomain) passes only with one of
    our origins: so does a request without ``Sec-Fetch-Site``; with neither header it is no browser's.
    """
    if method.upper() not in STATE_CHANGING:
        return False
    if (fetch_site or "").strip().lower() == "cross-site":
        return True
    return origin is not None and origin_of(origin) not in ours


def our_origins(host_url: str, public_url: str) -> set[Origin]:
    return {o for o in (origin_of(host_url), origin_of(public_url)) if o is not None}


def refuse_cross_site(app: Flask, public_url: str) -> None:
    """Register the check: it runs first among the app's ``before_request`` hooks when called first."""

    @app.before_request
    def _refuse_cross_site() -> ResponseReturnValue | None:
        origin = request.headers.get("Origin")
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if not is_cross_site(request.method, fetch_site, origin, our_origins(request.host_url, public_url)):
            return None
        parsed = origin_of(origin) if origin is not None else None
        log.warning("request.cross_site_refused", extra={
            "method": request.method, "path": logged_path(request.path),
            "sec_fetch_site": (fetch_site or "")[:32] or None,
            "origin_host": parsed[1] if parsed else (origin or "")[:64] or None,
        })
        return _refused()


def _refused() -> ResponseReturnValue:
    """403 with the reason: JSON for the API (or a script asking for JSON), the message page otherwise."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return {"error": REASON}, 403
    return render_template("message.html", title="Refused", message=REASON, status=403), 403
