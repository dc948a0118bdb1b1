"""A small client of the upload service's JSON API (what the ``photolane`` CLI talks to)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

FINAL_PHOTO = frozenset({"processed", "failed"})


class ApiError(Exception):
    """The service refused (4xx/5xx) or could not be reached; ``str()`` says what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(ApiError):
    """Nothing answered at the URL: stop at once, every other call would fail the same way."""


class Api:
    """The upload service at ``url``; ``token`` for the admin calls."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        session = requests.Session()
        # Reads are retried on connection hiccups; uploads are not (a POST may have landed).
        retry = Retry(total=3, connect=3, read=2, backoff_factor=0.3, allowed_methods={"GET"},
                      status_forcelist=(502, 503, 504))
        session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=32))
        session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=32))
        self.session = session

    # -- photos ------------------------------------------------------------------------------------
    def upload(self, path: Path, email: str | None = None, phone: str | None = None,
               into: dict[str, str] | None = None) -> dict[str, Any]:
        """``into``: the API's "collection" and/or "link" fields."""
        fields = {k: v for k, v in (("email", email), ("phone", phone)) if v} | (into or {})
        with path.open("rb") as data:
            return self._call("POST", "/api/photos", files={"file": (path.name, data)}, data=fields)

    def photo(self, photo_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/photos/{photo_id}")

    def wait(self, photo_id: str, timeout: float, poll: float = 0.5,
             stop: threading.Event | None = None) -> dict[str, Any]:
        """The photo once processed or failed; TimeoutError with the last state otherwise
        (at once when ``stop`` is set: the person pressed Ctrl-C)."""
        return _poll(lambda: self.photo(photo_id), lambda p: p["status"] in FINAL_PHOTO, timeout, poll, stop)

    def download(self, url: str, target: Path) -> Path:
        """A presigned image or CSV to ``target``, written whole or not at all."""
        try:
            answer = self.session.get(url, timeout=self.timeout, stream=True)
        except requests.ConnectionError as exc:
            raise Unreachable(f"cannot download {url.split('?')[0]}: {exc}") from exc
        if not answer.ok:
            raise ApiError(f"download of {url.split('?')[0]} answered {answer.status_code}", answer.status_code)
        partial = target.with_name(target.name + ".part")
        with partial.open("wb") as out:
            for chunk in answer.iter_content(1 << 16):
                out.write(chunk)
        os.replace(partial, target)
        return target

    # -- people (admin) ----------------------------------------------------------------------------
    def add_person(self, name: str, photo: Path | list[Path], attributes: dict[str, Any],
                   collection: str | None = None) -> dict[str, Any]:
        """Enroll ``name`` from one photo or several (one call: the service checks each), into a collection
        (the default one if None)."""
        photos = [photo] if isinstance(photo, Path) else photo
        data = {"name": name, "attributes": json.dumps(attributes)}
        data |= {"collection": collection} if collection else {}
        with ExitStack() as files:
            fields = [("photo", (p.name, files.enter_context(p.open("rb")))) for p in photos]
            return self._call("POST", "/api/people", admin=True, files=fields, data=data)

    def delete_person(self, person_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/people/{person_id}", admin=True)

    def person(self, person_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/people/{person_id}", admin=True)

    def people(self, collection: str | None = None) -> list[dict[str, Any]]:
        """Everyone (of one collection, if given), page after page."""
        everyone, cursor = [], None
        while True:
            params = {**({"cursor": cursor} if cursor else {}), **({"collection": collection} if collection else {})}
            page = self._call("GET", "/api/people", admin=True, params=params)
            everyone += page["people"]
            if not (cursor := page.get("next")):
                return everyone

    def wait_person(self, person_id: str, timeout: float, stop: threading.Event | None = None) -> dict[str, Any]:
        """The person once every photo is encoded or failed; TimeoutError with the last state otherwise."""
        return _poll(lambda: self.person(person_id), lambda p: p["status"] != "enrolling", timeout, 0.5, stop)

    def export(self, fmt: str, out: BinaryIO) -> int:
        """Streams the admin export into ``out``; the number of bytes written."""
        answer = self._send("GET", "/api/admin/export", admin=True, params={"format": fmt}, stream=True)
        written = 0
        for chunk in answer.iter_content(1 << 16):
            out.write(chunk)
            written += len(chunk)
        return written

    # -- queues (admin) ----------------------------------------------------------------------------
    def queues(self) -> list[dict[str, Any]]:
        """Each queue with its waiting, in-flight and dead-letter counts."""
        return self._call("GET", "/api/admin/queues", admin=True)["queues"]

    def purge(self, name: str) -> dict[str, Any]:
        return self._call("POST", f"/api/admin/queues/{name}/purge", admin=True, json={"confirm": True})

    def redrive(self, name: str) -> int:
        return self._call("POST", f"/api/admin/queues/{name}/redrive", admin=True)["moved"]

    # -- the local inbox (make run only) -----------------------------------------------------------
    def inbox(self) -> dict[str, Any]:
        """The SMS and emails sent, newest first: ``{"messages", "shown", "total"}`` (404 outside local mode)."""
        return self._call("GET", "/dev/inbox")

    # -- plumbing ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, admin: bool = False, **kwargs: Any) -> Any:
        return self._send(method, path, admin, **kwargs).json()

    def _send(self, method: str, path: str, admin: bool = False, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json"}
        if admin and not self.token:
            raise ApiError("this needs the admin token: --token or PHOTOLANE_ADMIN_TOKEN")
        if self.token:  # also on uploads: an admin's bulk upload is not held to the per-client limit
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            answer = self.session.request(method, self.url.rstrip("/") + path, headers=headers,
                                          timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            raise Unreachable(f"cannot reach the upload service at {self.url} (is it running? "
                              "set --url or PHOTOLANE_URL)") from exc
        except requests.Timeout as exc:
            raise ApiError(f"the upload service at {self.url} did not answer in {self.timeout:g} s") from exc
        if not answer.ok:
            raise ApiError(_refusal(answer), answer.status_code)
        return answer


def _refusal(answer: requests.Response) -> str:
    try:
        reason = answer.json().get("error")
    except ValueError:
        reason = None
    if answer.status_code == 401:
        return reason or "the admin token was refused"
    return reason or f"the service answered {answer.status_code} {answer.reason}"


def _poll(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
          timeout: float, every: float, stop: threading.Event | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stop = stop or threading.Event()
    while True:
        state = read()
        if done(state):
            return state
        if time.monotonic() >= deadline or stop.wait(every):
            raise TimeoutError(state)


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})


def photo_files(paths: list[Path]) -> Iterator[Path]:
    """Files named, and the images under folders named (recursively, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in found.relative_to(path).parts)
                if found.is_file() and not hidden and found.suffix.lower() in IMAGE_SUFFIXES:
                    yield found
        else:
            yield path
