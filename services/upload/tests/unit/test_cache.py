"""The in-process cache: expiry, bound, read-modify-write."""

import threading

import pytest

from photolane_upload.cache import LocalCache


def test_get_set_and_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    import photolane_upload.cache as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    cache = LocalCache()
    assert cache.get("k") is None
    cache.set("k", b"v", ttl=10)
    assert cache.get("k") == b"v"
    now[0] += 11
    assert cache.get("k") is None


def test_least_recently_used_goes_first() -> None:
    cache = LocalCache(max_items=2)
    cache.set("a", b"1", 60)
    cache.set("b", b"2", 60)
    cache.get("a")
    cache.set("c", b"3", 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1", None, b"3")


def test_update_never_loses_a_concurrent_change() -> None:
    cache = LocalCache()
    cache.set("n", b"0", 60)

    def bump() -> None:
        for _ in range(200):
            cache.update("n", lambda raw: str(int(raw) + 1).encode(), 60)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("n") == b"800"
    cache.update("n", lambda raw: None, 60)  # None: left as it is
    assert cache.get("n") == b"800"
