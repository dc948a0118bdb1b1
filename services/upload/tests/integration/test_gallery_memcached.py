"""The gallery cache in a real memcached (Debian's, started by the fixture), shared like the workers share it."""

from __future__ import annotations

import re
import threading

import pytest
from flask import Flask

from photolane.testing import Stack
from photolane_common.domain import ProcessedImage
from photolane_upload.app import create_app
from photolane_upload.cache import MemcachedCache
from photolane_upload.settings import UploadSettings

from ..conftest import form_upload


def test_memcached_cache_reads_writes_and_never_loses_a_concurrent_update(memcached_server: str) -> None:
    cache = MemcachedCache(memcached_server)
    assert cache.get("absent") is None
    cache.set("k", b"v", 60)
    assert cache.get("k") == b"v"
    cache.update("n", lambda raw: str(int(raw or b"0") + 1).encode(), 60)  # absent: added

    def bump() -> None:
        other = MemcachedCache(memcached_server)  # as another worker process would
        for _ in range(50):
            other.update("n", lambda raw: str(int(raw or b"0") + 1).encode(), 60)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("n") == b"201"


def test_an_unreachable_memcached_is_a_miss_not_an_error() -> None:
    from photolane.standin import free_port

    cache = MemcachedCache(f"127.0.0.1:{free_port()}")
    cache.set("k", b"v", 60)
    cache.update("k", lambda raw: b"w", 60)
    assert cache.get("k") is None


@pytest.fixture
def workers(stack: Stack, app: Flask, memcached_server: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, Flask]:
    """Two apps on one memcached: what two gunicorn workers (or two containers) are."""
    monkeypatch.setenv("PHOTOLANE_MEMCACHED", memcached_server)
    return create_app(UploadSettings()), create_app(UploadSettings())


def _ids(page: str) -> list[str]:
    return re.findall(r'<article id="photo-([0-9a-f-]+)"', page)


def test_workers_share_the_gallery_and_see_uploads_and_processing_at_once(workers: tuple[Flask, Flask]) -> None:
    one, two = workers
    browser = one.test_client()
    first = form_upload(browser, email="m@example.com").headers["Location"].rsplit("/", 1)[1]
    cookie = browser.get_cookie("photolane_session").value
    assert _ids(browser.get("/gallery").get_data(as_text=True)) == [first]  # built in worker one: a miss
    assert one.extensions["photolane"].gallery.stats == {"miss": 1}

    same_browser_on_two = two.test_client()
    same_browser_on_two.set_cookie("photolane_session", cookie)
    page = same_browser_on_two.get("/gallery").get_data(as_text=True)
    assert _ids(page) == [first] and "queued" in page
    assert two.extensions["photolane"].gallery.stats == {"hit": 1}  # worker two read worker one's entry

    deps = two.extensions["photolane"]
    deps.photos.mark_processing(first)
    deps.photos.mark_processed(first, ProcessedImage("f.jpg", "t.jpg", "r.csv", 64, 48, ()))
    page = browser.get("/gallery").get_data(as_text=True)  # the processor finished: seen on the next read
    assert 'data-status="processed"' in page
    assert one.extensions["photolane"].gallery.stats["refreshed"] == 1

    second = form_upload(browser, email="m@example.com").headers["Location"].rsplit("/", 1)[1]
    same_browser_on_two.set_cookie("photolane_session", browser.get_cookie("photolane_session").value)
    assert _ids(same_browser_on_two.get("/gallery").get_data(as_text=True)) == [second, first]
    assert two.extensions["photolane"].gallery.stats["miss"] == 0
