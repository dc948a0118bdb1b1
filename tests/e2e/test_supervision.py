"""`make run` keeps its processes running: a killed worker, or the stand-in, comes back on its own."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from photolane.testing import wait_for

from .conftest import Running, finished, launcher_children, started, upload

pytestmark = pytest.mark.e2e

RESTART_SECONDS = 3  # the first backoff: long enough to see the stand-in away


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with started(tmp_path_factory, PHOTOLANE_PROCESSORS="2", PHOTOLANE_RESTART_SECONDS=str(RESTART_SECONDS)) as stack:
        yield stack


def child(running: Running, module: str) -> int:
    """The pid of the launcher's child running ``module`` (from /proc: no psutil here)."""
    assert running.launcher is not None
    found = launcher_children(running.launcher.pid, module)
    assert found, f"no {module} process under the launcher"
    return min(found)


def said(running: Running, text: str) -> str:
    return wait_for(lambda: next((line for line in running.console if text in line), None), timeout=60,
                    what=f"the console to say {text!r}")


def test_a_killed_worker_is_restarted_and_the_pipeline_goes_on(supervised: Running, faces_dir: Path) -> None:
    health = supervised.run_dir / "notifier.health"
    for module, name in (("photolane_notifier", "notifier"), ("photolane_processor", "processor-1")):
        os.kill(child(supervised, module), signal.SIGKILL)
        said(supervised, f"{name} died (killed by SIGKILL); restarting in {RESTART_SECONDS} s")
    killed_at = time.time()
    wait_for(lambda: health.exists() and health.stat().st_mtime > killed_at, timeout=120,
             what=f"the restarted notifier's health file (console: {supervised.console})")
    assert (supervised.run_dir / "processor-2.health").exists()  # one processor a core: here two

    answer = upload(supervised, (faces_dir / "biden_1.jpg").read_bytes(), email="after@example.com")
    photo = finished(supervised, answer.json()["id"])
    assert photo["status"] == "processed"
    wait_for(lambda: [n for n in requests.get(f"{supervised.url}/api/photos/{photo['id']}", timeout=10).json()
                      ["notifications"] if n["status"] == "sent"], what="the email, from the restarted notifier")
    said(supervised, f"photo {photo['id'][:8]}… processed: 1 face")


def test_a_killed_stand_in_is_a_503_then_comes_back(supervised: Running, faces_dir: Path) -> None:
    before = upload(supervised, (faces_dir / "biden_2.jpg").read_bytes())
    finished(supervised, before.json()["id"])
    os.kill(child(supervised, "moto.server"), signal.SIGKILL)
    said(supervised, f"AWS stand-in died (killed by SIGKILL); restarting in {RESTART_SECONDS} s")

    answers = [requests.get(f"{supervised.url}/api/photos/{before.json()['id']}", timeout=30),
               upload(supervised, (faces_dir / "biden_1.jpg").read_bytes())]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"] == "application/json" and answer.headers["Retry-After"]
        assert "not reachable" in answer.json()["error"]
    page = requests.get(f"{supervised.url}/photos/{before.json()['id']}", timeout=30)
    assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]

    said(supervised, "AWS stand-in back at")
    after = wait_for(lambda: (r := upload(supervised, (faces_dir / "biden_1.jpg").read_bytes())).status_code == 202
                     and r, timeout=60, what="uploads taken again")
    assert finished(supervised, after.json()["id"])["status"] == "processed"
