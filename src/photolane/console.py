"""``make run``'s console: one human line per photo or problem, read from the services' JSON logs.

The services write their JSON lines to ``<run folder>/logs/<service>.log`` (``make logs`` follows
them); ``LogFollower`` reads every file there as it grows and ``Digest`` turns the events into lines:

    12:03:04  photo 3f2a9c1e… processed: 3 faces (Barack Obama, Joe Biden, 1 unknown) · SMS sent · email sent
    12:03:09  processor: message.failed (photo 3f2a9c1e…): ConnectionError …

A photo's line waits for the notifier to be done with it (or ``WAIT_FOR_NOTIFIER`` seconds).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

WAIT_FOR_NOTIFIER = 30.0  # seconds a processed photo's line waits for its SMS and email
REPEAT_QUIET = 30.0  # the same problem of the same service is said once in this many seconds
CHANNELS = {"sms": "SMS", "email": "email"}
# Warnings that are a photo's outcome or a delivery's, said in the photo's line instead.
IN_PHOTO_LINE = {"photo.failed", "notification.refused", "notification.failed"}


def clock(ts: str | None = None) -> str:
    """HH:MM:SS, local time, of an event's ISO timestamp (now without one)."""
    moment = datetime.now()
    if ts:
        try:
            moment = datetime.fromisoformat(ts).astimezone()
        except ValueError:
            pass
    return moment.strftime("%H:%M:%S")


def short(photo_id: str) -> str:
    return f"{photo_id[:8]}…"


@dataclass
class _Photo:
    since: float
    ts: str | None = None
    outcome: str | None = None
    named: int = 0
    faces: int = 0
    deliveries: list[str] = field(default_factory=list)
    notified: bool = False


class Digest:
    """Log events in, console lines out (``say``). ``names(photo_id)`` may name a photo's people."""

    def __init__(self, say: Callable[[str], None], names: Callable[[str], list[str] | None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.say = say
        self.names = names
        self.monotonic = monotonic
        self.photos: dict[str, _Photo] = {}
        self.said: dict[tuple[str, str], float] = {}

    def event(self, entry: dict[str, Any]) -> None:
        name, service = str(entry.get("event", "")), str(entry.get("service", "?"))
        photo_id = entry.get("photo_id")
        if service == "processor" and photo_id and name == "photo.processed":
            photo = self._photo(photo_id, entry)
            photo.faces, photo.named = int(entry.get("faces") or 0), int(entry.get("named") or 0)
            photo.outcome = "processed"
        elif service == "processor" and photo_id and name == "photo.failed":
            self._photo(photo_id, entry).outcome = f"failed: {entry.get('error')}"
        elif service == "notifier" and photo_id and name.startswith("notification."):
            channel = CHANNELS.get(str(entry.get("channel")), str(entry.get("channel")))
            said = {"notification.sent": f"{channel} sent", "notification.failed": f"{channel} failed",
                    "notification.refused": f"{channel} not sent"}.get(name)
            if said:
                error = entry.get("error")
                self._photo(photo_id, entry).deliveries.append(f"{said} ({error})" if error else said)
        elif (service == "notifier" and photo_id and name == "message.done"
              and entry.get("type") == "photo.processed"):
            self._photo(photo_id, entry).notified = True
        elif service == "processor" and photo_id and name == "photo.erased":
            self.say(f"{clock(entry.get('ts'))}  photo {short(photo_id)} erased (deleted: it and its faces)")
        elif name == "person.photo_enrolled":
            self.say(f"{clock(entry.get('ts'))}  person {short(str(entry.get('person_id')))} enrolled")
        if entry.get("level") in ("error", "critical", "warning") and name not in IN_PHOTO_LINE:
            self._problem(service, name, entry)
        self.flush()

    def _photo(self, photo_id: str, entry: dict[str, Any]) -> _Photo:
        photo = self.photos.setdefault(photo_id, _Photo(self.monotonic()))
        photo.ts = entry.get("ts") or photo.ts
        return photo

    def _problem(self, service: str, name: str, entry: dict[str, Any]) -> None:
        now = self.monotonic()
        if now - self.said.get((service, name), -REPEAT_QUIET) < REPEAT_QUIET:
            return
        self.said[(service, name)] = now
        about = f" (photo {short(entry['photo_id'])})" if entry.get("photo_id") else ""
        detail = entry.get("error") or entry.get("reason") or entry.get("hint") or ""
        detail = str(detail).strip().splitlines()[-1][:200] if str(detail).strip() else ""
        self.say(f"{clock(entry.get('ts'))}  {service}: {name}{about}{': ' + detail if detail else ''}")

    def flush(self, everything: bool = False) -> None:
        """Say the photos that are done (processed or failed, and the notifier done, or waited for)."""
        now = self.monotonic()
        for photo_id, photo in list(self.photos.items()):
            waited = now - photo.since >= WAIT_FOR_NOTIFIER
            if not (everything or waited or (photo.outcome and photo.notified)):
                continue
            del self.photos[photo_id]
            if photo.outcome is None and not photo.deliveries:
                continue  # the notifier's part of a photo whose outcome was said before
            self.say(self.photo_line(photo_id, photo))

    def photo_line(self, photo_id: str, photo: _Photo) -> str:
        outcome = photo.outcome or "notified"
        if photo.outcome == "processed":
            outcome = f"processed: {self._faces(photo_id, photo)}"
        return " · ".join([f"{clock(photo.ts)}  photo {short(photo_id)} {outcome}", *photo.deliveries])

    def _faces(self, photo_id: str, photo: _Photo) -> str:
        count = f"{photo.faces} face{'' if photo.faces == 1 else 's'}"
        if not photo.faces:
            return "no faces"
        unknown = photo.faces - photo.named
        names = None
        if photo.named and self.names is not None:
            try:
                names = self.names(photo_id)
            except Exception:  # noqa: BLE001 - the names are a nicety; the count is said anyway
                names = None
        people = names if names else ([f"{photo.named} known"] if photo.named else [])
        if unknown:
            people = [*people, f"{unknown} unknown"]
        return f"{count} ({', '.join(people)})"


class LogFollower:
    """Reads every ``*.log`` of a folder as it grows (new files too) and hands each JSON line on."""

    def __init__(self, folder: Path, digest: Digest, interval: float = 0.25) -> None:
        self.folder = folder
        self.digest = digest
        self.interval = interval
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)

    def skip_existing(self) -> None:
        """Start at the end of what the files already hold (an earlier run's lines)."""
        for path in self.folder.glob("*.log"):
            self.offsets[path] = path.stat().st_size

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.read()
        self.digest.flush(everything=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.read()
            except Exception as exc:  # noqa: BLE001 - the console must never stop the launcher
                print(f"photolane: the console could not read the logs: {exc}", file=sys.stderr, flush=True)

    def read(self) -> None:
        for path in sorted(self.folder.glob("*.log")):
            offset = self.offsets.get(path, 0)
            size = path.stat().st_size
            if size < offset:  # truncated: start over
                offset, self.partial[path] = 0, b""
            if size == offset:
                continue
            with open(path, "rb") as file:
                file.seek(offset)
                data = self.partial.get(path, b"") + file.read(size - offset)
            self.offsets[path] = size
            *lines, self.partial[path] = data.split(b"\n")
            for line in lines:
                self._line(line)
        self.digest.flush()

    def _line(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return  # not one of the services' JSON lines (a crash's traceback, say: the death is said)
        if isinstance(entry, dict):
            self.digest.event(entry)


class Console:
    """Lines to the terminal, one at a time, stamped when they have no time of their own."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.lock = threading.Lock()

    def say(self, line: str) -> None:
        with self.lock:
            print(line, file=self.out, flush=True)

    def now(self, line: str) -> None:
        self.say(f"{clock()}  {line}")
