"""A small key-value cache: memcached when configured, else in-process. Failures read as misses."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("photolane.upload.cache")

# Called with the current value (None when absent); returns the new one, or None to leave it.
Change = Callable[[bytes | None], bytes | None]


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: int) -> None: ...
    def update(self, key: str, change: Change, ttl: int) -> None:
        """Read-modify-write without losing a concurrent writer's change."""
        ...


class LocalCache:
    """In this process only (each gunicorn worker has its own): a bounded LRU with expiry."""

    def __init__(self, max_items: int = 2048) -> None:
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._get(key)

    def set(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            self._set(key, value, ttl)

    def update(self, key: str, change: Change, ttl: int) -> None:
        with self._lock:
            new = change(self._get(key))
            if new is not None:
                self._set(key, new, ttl)

    def _get(self, key: str) -> bytes | None:
        entry = self._items.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return entry[1]

    def _set(self, key: str, value: bytes, ttl: int) -> None:
        self._items[key] = (time.monotonic() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)


class MemcachedCache:
    """Shared by every worker and instance; compare-and-set for read-modify-writes."""

    def __init__(self, server: str, timeout: float = 0.5) -> None:
        from pymemcache.client.base import PooledClient

        host, _, port = server.rpartition(":") if ":" in server else (server, "", "11211")
        self.client = PooledClient((host or "127.0.0.1", int(port)), connect_timeout=timeout, timeout=timeout,
                                   max_pool_size=8)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)
        except Exception:  # noqa: BLE001 - a cache that cannot answer is a miss, never an error page
            log.warning("cache.unavailable", exc_info=True)
            return None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            self.client.set(key, value, expire=ttl, noreply=False)
        except Exception:  # noqa: BLE001
            log.warning("cache.unavailable", exc_info=True)

    def update(self, key: str, change: Change, ttl: int, attempts: int = 20) -> None:
        try:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(random.uniform(0, 0.002 * attempt))  # another writer won: let it finish
                current, token = self.client.gets(key)
                new = change(current)
                if new is None:
                    return
                if token is None:
                    if self.client.add(key, new, expire=ttl, noreply=False):
                        return
                elif self.client.cas(key, new, token, expire=ttl, noreply=False):
                    return
            # Others kept writing: drop the entry so the next read rebuilds it from DynamoDB.
            self.client.delete(key, noreply=False)
        except Exception:  # noqa: BLE001
            log.warning("cache.unavailable", exc_info=True)


def build_cache(server: str | None) -> Cache:
    return MemcachedCache(server) if server else LocalCache()
