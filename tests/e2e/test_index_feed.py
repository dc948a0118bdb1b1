"""The face indexes across processors, as `make run` runs them: two processors, each with the people
and the unknown faces in memory, kept current by the change feeds; one killed and started cold again
from a snapshot (a snapshot every 2 changes here, so the suite writes, reads and replaces them)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import requests

from photolane.testing import wait_for

from .conftest import Running, finished, launcher_children, started, upload
from .test_faces import _admin, _enroll, _names, _settled

pytestmark = pytest.mark.e2e


def _processed(running: Running, data: bytes) -> dict[str, Any]:
    answer = upload(running, data, email="feed@example.com")
    assert answer.status_code == 202, answer.text
    return finished(running, answer.json()["id"])


def _photo(running: Running, photo_id: str) -> dict[str, Any]:
    return requests.get(f"{running.url}/api/photos/{photo_id}", headers=_admin(running), timeout=10).json()


def _events(run_dir: Path, event: str, **fields: str) -> list[dict[str, Any]]:
    """The processors' log events of that name (and those field values)."""
    found = []
    for log in (run_dir / "logs").glob("processor*.log"):
        for line in log.read_text().splitlines():
            if f'"{event}"' in line:
                entry = json.loads(line)
                if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
                    found.append(entry)
    return found


def test_changes_reach_every_processor_and_a_cold_start_reads_the_snapshot(
        tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> None:
    with started(tmp_path_factory, PHOTOLANE_PROCESSORS="2", PHOTOLANE_INDEX_SNAPSHOT_EVERY="2") as running:
        # Rose is in two photos before anyone enrolls her: unknown in both, then named in both by one
        # enrollment (found in the unknown-face index, not by reading every photo).
        before = [_processed(running, (faces_dir / name).read_bytes())
                  for name in ("rose_leslie_2.jpg", "group_kit_and_rose.jpg")]
        assert [_names(p) for p in before] == [[None], [None, None]]
        rose = _enroll(running, "Rose Leslie", (faces_dir / "rose_leslie_1.jpg").read_bytes())
        assert _settled(running, rose)["status"] == "enrolled"
        wait_for(lambda: all("Rose Leslie" in _names(_photo(running, p["id"])) for p in before),
                 what="both earlier photos of Rose named by her enrollment")
        assert _names(_photo(running, before[1]["id"])).count(None) == 1  # Kit: still unknown

        # Enrolled through one processor, known to both: every new photo names her, whichever takes it.
        kit = _enroll(running, "Kit Harington", (faces_dir / "kit_harington_1.jpg").read_bytes())
        assert _settled(running, kit)["status"] == "enrolled"
        for _ in range(4):
            photo = _processed(running, (faces_dir / "group_kit_and_rose.jpg").read_bytes())
            assert sorted(_names(photo)) == ["Kit Harington", "Rose Leslie"]

        # Snapshots replace each other (the older object deleted) as the changes pass: three strangers are
        # three more changes of the unknown faces, more than the 2 between snapshots after any first one.
        for stranger in ("biden_1.jpg", "obama_2.jpg", "alex_lacamoire_3.jpg"):
            assert _names(_processed(running, (faces_dir / stranger).read_bytes())) == [None]
        wait_for(lambda: len(_events(running.run_dir, "index.snapshot_written", index="unknown")) >= 2,
                 what="a second snapshot of the unknown faces, replacing the first")

        # A processor killed and started again loads its indexes from a snapshot, then the changes since.
        processors = launcher_children(running.launcher.pid, "photolane_processor")
        assert len(processors) == 2
        os.kill(processors[0], signal.SIGKILL)
        wait_for(lambda: len(_events(running.run_dir, "index.loaded", **{"from": "snapshot"})) >= 2,
                 timeout=120, what="the restarted processor's indexes loaded from snapshots")
        for _ in range(3):
            photo = _processed(running, (faces_dir / "kit_harington_2.jpg").read_bytes())
            assert _names(photo) == ["Kit Harington"]

        # A deletion reaches both processors: her photos are un-named, and no new photo names her.
        assert requests.delete(f"{running.url}/api/people/{rose}", headers=_admin(running), timeout=10).status_code \
            in (200, 202, 204)
        wait_for(lambda: _names(_photo(running, before[0]["id"])) == [None], what="Rose un-named after her deletion")
        for _ in range(2):
            photo = _processed(running, (faces_dir / "rose_leslie_2.jpg").read_bytes())
            assert _names(photo) == [None]
