"""make run's console: the services' JSON log events in, one human line a photo or problem out."""

from __future__ import annotations

import json
from pathlib import Path

from photolane.console import WAIT_FOR_NOTIFIER, Digest, LogFollower

PHOTO = "3f2a9c1e-0000-4000-8000-000000000000"


def entry(service: str, event: str, level: str = "info", **extra: object) -> dict[str, object]:
    return {"ts": "2026-01-02T12:03:04.000+00:00", "level": level, "service": service, "event": event, **extra}


def test_a_photo_is_one_line_once_the_notifier_is_done(tmp_path: Path) -> None:
    said: list[str] = []
    digest = Digest(said.append, names=lambda photo_id: ["Barack Obama", "Joe Biden"])
    digest.event(entry("processor", "message.received", photo_id=PHOTO))
    digest.event(entry("processor", "photo.processed", photo_id=PHOTO, faces=3, named=2))
    assert said == []  # the SMS and email are still to come
    digest.event(entry("notifier", "notification.sent", photo_id=PHOTO, channel="sms"))
    digest.event(entry("notifier", "notification.sent", photo_id=PHOTO, channel="email"))
    digest.event(entry("notifier", "message.done", photo_id=PHOTO, type="photo.processed"))
    assert len(said) == 1
    assert said[0].endswith("  photo 3f2a9c1e… processed: 3 faces (Barack Obama, Joe Biden, 1 unknown) · SMS sent "
                            "· email sent")


def test_an_erased_photo_is_a_line(tmp_path: Path) -> None:
    said: list[str] = []
    Digest(said.append).event(entry("processor", "photo.erased", photo_id=PHOTO, faces=2))
    assert len(said) == 1 and said[0].endswith("  photo 3f2a9c1e… erased (deleted: it and its faces)")


def test_failures_refusals_and_a_silent_notifier(tmp_path: Path) -> None:
    said: list[str] = []
    now = [0.0]
    digest = Digest(said.append, monotonic=lambda: now[0])
    digest.event(entry("processor", "photo.failed", "warning", photo_id=PHOTO, error="not an image"))
    digest.event(entry("notifier", "notification.refused", "warning", photo_id=PHOTO, channel="sms",
                       error="premium-rate"))
    assert said == []
    now[0] += WAIT_FOR_NOTIFIER
    digest.flush()
    assert said[0].endswith("photo 3f2a9c1e… failed: not an image · SMS not sent (premium-rate)")
    other = "aaaaaaaa-0000"
    digest.event(entry("processor", "photo.processed", photo_id=other, faces=0, named=0))
    digest.flush(everything=True)
    assert said[1].endswith("photo aaaaaaaa… processed: no faces")


def test_problems_are_said_once_in_a_while(tmp_path: Path) -> None:
    said: list[str] = []
    now = [0.0]
    digest = Digest(said.append, monotonic=lambda: now[0])
    failed = entry("processor", "message.failed", "error", photo_id=PHOTO, error="Traceback …\nValueError: boom")
    digest.event(failed)
    digest.event(failed)
    assert said == ["12:03:04  processor: message.failed (photo 3f2a9c1e…): ValueError: boom".replace(
        "12:03:04", said[0][:8])]
    digest.event(entry("upload", "http.request", path="/"))  # the services' routine: nothing
    assert len(said) == 1
    now[0] += 31
    digest.event(failed)
    assert len(said) == 2


def test_the_follower_reads_new_lines_of_every_log_and_skips_what_was_there(tmp_path: Path) -> None:
    said: list[str] = []
    old = tmp_path / "processor-1.log"
    old.write_text(json.dumps(entry("processor", "boom", "error")) + "\n")
    follower = LogFollower(tmp_path, Digest(said.append))
    follower.skip_existing()
    with open(old, "a") as log:
        log.write("not json\n" + json.dumps(entry("processor", "worker.aws_unavailable", "warning",
                                                 error="Could not connect")) + "\n")
        log.write(json.dumps(entry("processor", "half")))  # no newline yet: not read
    (tmp_path / "notifier.log").write_text(json.dumps(entry("notifier", "other", "error")) + "\n")
    follower.read()
    assert sorted(line[10:] for line in said) == ["notifier: other",
                                                  "processor: worker.aws_unavailable: Could not connect"]
