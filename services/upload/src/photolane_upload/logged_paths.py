"""What the logs may say of a request's path (the request log and the refusals share the rule)."""

from __future__ import annotations


def logged_path(path: str) -> str:
    """The path as logged: whatever follows /signin/ (once a token lived there) is never written."""
    return "/signin/…" if path.startswith("/signin/") and path != "/signin/open" else path
