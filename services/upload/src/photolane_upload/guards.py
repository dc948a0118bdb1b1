"""Abuse limits of the upload service: who the client is, and 429 once they ask too often.

The client's address is ``request.remote_addr`` after ProxyFix has taken exactly
``PHOTOLANE_PROXY_HOPS`` trusted entries off X-Forwarded-For: a client cannot choose it by sending
the header itself. An IPv6 client is counted by its /64.
"""

from __future__ import annotations

import ipaddress

from flask import has_request_context, request

from photolane_common.limits import Limit, wait_phrase
from photolane_common.metrics import RATE_LIMITED, UPLOADS_REFUSED, metrics

from .deps import current_deps
from .sessions import bearer_is_admin

HOUR = 3600


class TooMany(Exception):
    """Answered 429 with ``Retry-After``."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def client_address() -> str:
    return subscriber_of(request.remote_addr)


def subscriber_of(address: str | None) -> str:
    """Who the limits count: an IPv4 address, or an IPv6 address's /64 (one subscriber's network: a
    client given a /64 can send from any of its 2^64 addresses)."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        mapped = parsed.ipv4_mapped  # an IPv4 client on a dual-stack socket
        return str(mapped) if mapped else str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _check(limit: Limit, subject: str, whose: str) -> None:
    verdict = current_deps().limiter.check(limit, subject)
    if not verdict.allowed:
        metrics.count(RATE_LIMITED, limit=limit.name)
        raise TooMany(f"too many {limit.what} {whose}: the limit is {limit.describe()}; "
                      f"try again {wait_phrase(verdict.retry_after)}", verdict.retry_after)


def count_upload() -> None:
    """Uploads per client address; an admin's bearer token (bulk uploads, the CLI) is not limited."""
    settings = current_deps().settings
    if bearer_is_admin(settings):
        return
    try:
        _check(Limit("uploads-client", settings.uploads_per_client_hour, HOUR, "uploads"), client_address(),
               "from this address")
    except TooMany:
        metrics.count(UPLOADS_REFUSED, reason="rate_limited")
        raise


def count_contact_check() -> None:
    """Checks of an email and phone (``POST /api/contacts/check``: the upload page asks once before it sends
    its files) per client address, as many an hour as uploads; an admin's bearer token is not limited."""
    settings = current_deps().settings
    if bearer_is_admin(settings):
        return
    _check(Limit("contact-checks-client", settings.uploads_per_client_hour, HOUR, "checks of an email and phone"),
           client_address(), "from this address")


def count_unknown_line_number(phone: str) -> None:
    """Different numbers of unknown line type (a mobile or a landline: the +1 plan cannot say) named by
    one client address an hour; naming one again within the hour is free. Outside a request (no client)
    nothing is counted."""
    if not has_request_context():
        return
    limit = Limit("unknown-line-client", current_deps().settings.unknown_line_numbers_per_client_hour, HOUR,
                  "different phone numbers that may be landlines")
    verdict = current_deps().limiter.check_distinct(limit, client_address(), phone)
    if not verdict.allowed:
        metrics.count(RATE_LIMITED, limit=limit.name)
        raise TooMany(f"too many {limit.what} from this address (a US or Canadian number does not say whether it "
                      f"is a mobile): the limit is {limit.describe()}; try again {wait_phrase(verdict.retry_after)}, "
                      "or upload without a phone", verdict.retry_after)


def count_signin(email: str | None) -> None:
    """Sign-in requests per client address, and per email (whatever the email, so nothing is told)."""
    settings = current_deps().settings
    _check(Limit("signin-client", settings.signins_per_client_hour, HOUR, "sign-in requests"), client_address(),
           "from this address")
    if email:
        _check(Limit("signin-email", settings.signins_per_email_hour, HOUR, "sign-in requests"), email,
               "for this email")


def count_admin_login() -> None:
    settings = current_deps().settings
    _check(Limit("admin-login", settings.admin_logins_per_client_hour, HOUR, "admin sign-in attempts"),
           client_address(), "from this address")


def count_correction() -> None:
    """Corrections of names (yes, no, not <name>) per client address: each is a job for a processor."""
    settings = current_deps().settings
    _check(Limit("corrections-client", settings.corrections_per_client_hour, HOUR, "corrections"), client_address(),
           "from this address")
