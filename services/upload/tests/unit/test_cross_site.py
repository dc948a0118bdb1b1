"""Which requests count as sent by another site's page (cross_site.py), without an app."""

from __future__ import annotations

import pytest

from photolane_upload.cross_site import is_cross_site, origin_of, our_origins

OURS = our_origins("http://127.0.0.1:5000/", "https://photos.example")


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:5000/", ("http", "127.0.0.1", 5000)),
    ("HTTPS://Photos.Example", ("https", "photos.example", 443)),
    ("https://photos.example:443/base/", ("https", "photos.example", 443)),
    ("http://photos.example:80", ("http", "photos.example", 80)),
    ("http://[::1]:8000", ("http", "::1", 8000)),
    ("null", None), ("", None), ("photos.example", None), ("ftp://photos.example", None),
    ("http://photos.example:99999", None), ("http://photos.example:x", None), ("https://", None),
    ("https://photos.example@evil.example", None),
])
def test_an_origin_is_scheme_host_and_port(url: str, origin: tuple[str, str, int] | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(("method", "site", "origin", "refused"), [
    ("POST", "cross-site", "https://evil.example", True),
    ("POST", "cross-site", None, True),
    ("DELETE", "Cross-Site", "https://photos.example", True),  # the browser's word wins
    ("PUT", None, "https://evil.example", True),
    ("PATCH", None, "null", True),
    ("POST", "same-site", "http://127.0.0.1:5001", True),
    ("POST", "same-site", "https://sub.photos.example", True),
    ("POST", "same-site", "https://photos.example", False),
    ("POST", "same-origin", "http://127.0.0.1:5000", False),
    ("POST", "same-origin", None, False),
    ("POST", "none", None, False),
    ("POST", None, None, False),  # the CLI, curl, a script
    ("POST", None, "https://photos.example:443", False),
    ("GET", "cross-site", "https://evil.example", False),
    ("HEAD", "cross-site", "null", False),
    ("OPTIONS", "cross-site", "https://evil.example", False),
])
def test_state_changing_requests_from_elsewhere_are_cross_site(method: str, site: str | None, origin: str | None,
                                                               refused: bool) -> None:
    assert is_cross_site(method, site, origin, OURS) is refused
