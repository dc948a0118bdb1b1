"""Fixtures of the end-to-end tests: photolane started the way `make run` starts it."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from photolane.standin import StandInClient, free_port, port_in_use
from photolane.testing import ROOT, wait_for


@dataclass
class Running:
    url: str
    admin_token: str
    aws_url: str
    standin: StandInClient
    run_dir: Path
    log: Path
    launcher: subprocess.Popen[str] | None = None
    console: list[str] = field(default_factory=list)  # what `make run` printed after its banner

    def service_logs(self) -> str:
        """Every service's JSON log (logs/<name>.log in the run folder), one after the other."""
        return service_logs(self.run_dir)


def service_logs(run_dir: Path) -> str:
    return "".join(path.read_text() for path in sorted((run_dir / "logs").glob("*.log")))


@contextmanager
def started(tmp_path_factory: pytest.TempPathFactory, expected_errors: tuple[str, ...] = ("message.failed",),
            run_dir: Path | None = None, port: int | None = None, **extra_env: str) -> Iterator[Running]:
    """``python -m photolane.local`` on free ports, as `make run` starts it; stopped with Ctrl-C after.

    ``run_dir`` reuses a run folder (an earlier run's data, token and key), ``port`` a port. Afterwards
    the services' log must have no error but the events in ``expected_errors`` (unless the test killed
    the launcher itself).
    """
    run_dir = run_dir or tmp_path_factory.mktemp("run")
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    # Every AWS call of the services, one folder a session: deploy/tests/grants checks them against the stack.
    calls = tmp_path_factory.getbasetemp() / "aws-calls"
    # One message a photo (make run batches a recipient's photos of 10 s): the tests of batches give a window.
    env.update({"PHOTOLANE_PORT": str(port), "PHOTOLANE_AWS_PORT": "0", "PHOTOLANE_RUN_DIR": str(run_dir),
                "PHOTOLANE_AWS_CALL_LOG": str(calls), "PHOTOLANE_BATCH_WINDOW_SECONDS": "0", **extra_env})
    log = run_dir / "services.log"
    with open(log, "ab") as errors:
        launcher = subprocess.Popen([sys.executable, "-m", "photolane.local"], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=errors, text=True)
    banner = []
    for line in launcher.stdout:
        banner.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    text = "".join(banner)
    assert f"photolane is running at http://127.0.0.1:{port}" in text, text + log.read_text()[-3000:]
    token = re.search(r"admin token:\s+(\S+) \(generated", text).group(1)
    standin_url = re.search(r"AWS stand-in: (http://127\.0\.0\.1:\d+)", text).group(1)
    running = Running(f"http://127.0.0.1:{port}", token, standin_url, StandInClient(standin_url), run_dir, log,
                      launcher)
    # The console's lines, read as they come (a full pipe would stop the launcher).
    def read_console() -> None:
        for line in launcher.stdout:
            running.console.append(line.rstrip("\n"))

    threading.Thread(target=read_console, daemon=True).start()
    yield running

    if launcher.poll() is not None:  # the test killed it
        return
    launcher.send_signal(signal.SIGINT)  # what Ctrl-C does
    assert launcher.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert not port_in_use(port) and not port_in_use(int(standin_url.rsplit(":", 1)[1]))
    assert not list(run_dir.glob("*.health"))  # both workers stopped cleanly
    error_lines = [line for line in service_logs(run_dir).splitlines() if '"level": "error"' in line]
    assert not [e for e in error_lines if not any(f'"event": "{name}"' in e for name in expected_errors)], \
        error_lines[:5]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with started(tmp_path_factory) as stack:
        yield stack


def upload(running: Running, data: bytes, name: str = "photo.jpg", **fields: str) -> requests.Response:
    return requests.post(f"{running.url}/api/photos", files={"file": (name, data)}, data=fields, timeout=30)


def finished(running: Running, photo_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        photo = requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10).json()
        return photo if photo["status"] in ("processed", "failed") else None

    return wait_for(done, what=f"photo {photo_id} to finish")


def fetch_image(url: str) -> Image.Image:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200
    return Image.open(io.BytesIO(answer.content))


def launcher_children(launcher_pid: int, module: str) -> list[int]:
    """The pids of the launcher's child processes running ``python -m <module>`` (from /proc: no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher_pid and module.encode() in command:
            found.append(int(entry.name))
    return found
