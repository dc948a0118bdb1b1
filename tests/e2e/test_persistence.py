"""make run keeps its data: after Ctrl-C, and after the launcher itself is killed (kill -9), the next
run on the same run folder has the photos, their images, the admin token and the sessions of before."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from photolane.standin import free_port, port_in_use
from photolane.testing import FACES, wait_for

from .conftest import Running, finished, started

pytestmark = pytest.mark.e2e


def _browser_upload(running: Running, path: Path) -> tuple[requests.Session, str]:
    """The upload form, as a browser sends it: the session cookie now holds this upload."""
    browser = requests.Session()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(running.url + "/", timeout=10).text).group(1)
    answer = browser.post(f"{running.url}/photos", files={"file": (path.name, path.read_bytes())},
                          data={"email": "keeper@example.com", "phone": "", "csrf_token": csrf},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text[:300]
    return browser, answer.headers["Location"].rsplit("/", 1)[1]


def _done(running: Running, photo_id: str) -> dict[str, Any]:
    """Processed, and its email sent (the notifier's write, the last one of the photo)."""
    finished(running, photo_id)

    def emailed() -> dict[str, Any] | None:
        photo = requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10,
                             headers={"Authorization": f"Bearer {running.admin_token}"}).json()
        return photo if any(n["channel"] == "email" and n["status"] == "sent"
                            for n in photo.get("notifications", [])) else None

    return wait_for(emailed, what=f"photo {photo_id}'s email")


def _snapshotted(run_dir: Path, photo_id: str) -> bool:
    """The last snapshot (what a kill -9 keeps) has the photo processed and its email sent."""
    for line in (run_dir / "data" / "current" / "tables" / "photos.jsonl").read_text().splitlines():
        item = json.loads(line)["Item"]
        if item["id"]["S"] == photo_id:
            return item["status"]["S"] == "processed" and \
                item.get("email_delivery", {}).get("M", {}).get("status", {}).get("S") == "sent"
    return False


def _still_there(running: Running, browser: requests.Session, photo_id: str, before: dict[str, Any],
                 page: str) -> None:
    photo = requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10).json()
    assert photo["status"] == "processed" and len(photo["faces"]) == len(before["faces"])
    for key in ("flipped_url", "thumbnail_url", "results_url"):
        assert requests.get(photo[key], timeout=10).status_code == 200, key  # the images are back in the bucket
        assert requests.get(before[key], timeout=10).content == requests.get(photo[key], timeout=10).content
    assert requests.get(page, timeout=10).status_code == 200  # a link sent earlier still opens
    gallery = browser.get(f"{running.url}/gallery", allow_redirects=False, timeout=10)
    assert gallery.status_code == 200 and photo_id in gallery.text  # the session cookie of before still holds
    own = browser.get(page, timeout=10).text
    assert "keeper@example.com" in own  # …as the uploader: the contacts unmasked
    people = requests.get(f"{running.url}/api/people", timeout=10,
                          headers={"Authorization": f"Bearer {running.admin_token}"})
    assert people.status_code == 200


def _ports_free(*ports: int) -> None:
    wait_for(lambda: not any(port_in_use(p) for p in ports), 60, "the killed run's ports to be free")


def test_data_survives_ctrl_c_and_a_killed_launcher(tmp_path_factory: pytest.TempPathFactory) -> None:
    run_dir = tmp_path_factory.mktemp("kept")
    port, aws_port = free_port(), free_port()
    ports = {"run_dir": run_dir, "port": port, "PHOTOLANE_AWS_PORT": str(aws_port), "PHOTOLANE_SNAPSHOT_SECONDS": "1"}

    with started(tmp_path_factory, **ports) as first:
        browser, photo_id = _browser_upload(first, FACES / "obama_1.jpg")
        before = _done(first, photo_id)
        page = f"{first.url}/photos/{photo_id}"
        token = first.admin_token
    assert (run_dir / "data" / "current" / "manifest.json").exists()  # the snapshot of the clean stop
    outbox = (run_dir / "outbox" / "events.jsonl").read_text()
    assert photo_id in outbox

    with started(tmp_path_factory, **ports) as second:  # Ctrl-C, then make run again
        assert second.admin_token == token
        _still_there(second, browser, photo_id, before, page)
        assert (run_dir / "outbox" / "events.jsonl").read_text().startswith(outbox)
        later, later_id = _browser_upload(second, FACES / "biden_1.jpg")
        later_before = _done(second, later_id)
        wait_for(lambda: _snapshotted(run_dir, later_id), 30, "a snapshot with the second photo")
        snapshot_at = (run_dir / "data" / "current" / "manifest.json").stat().st_mtime
        assert time.time() - snapshot_at < 30
        second.launcher.send_signal(signal.SIGKILL)  # the launcher itself, killed: no clean stop, no last snapshot
        second.launcher.wait(10)
    _ports_free(port, aws_port)

    with started(tmp_path_factory, **ports) as third:
        assert third.admin_token == token
        _still_there(third, browser, photo_id, before, page)
        _still_there(third, later, later_id, later_before, f"{third.url}/photos/{later_id}")
