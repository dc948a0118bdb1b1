"""Fixtures of the end-to-end tests: photolane started the way `make run` starts it."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@contextmanager
def started(tmp_path_factory: pytest.TempPathFactory, expected_errors: tuple[str, ...] = ("message.failed",),
            **extra_env: str) -> Iterator[Running]:
    """``python -m photolane.local`` on free ports, as `make run` starts it; stopped with Ctrl-C after.

    Afterwards the services' log must have no error but the events in ``expected_errors``.
    """
    run_dir = tmp_path_factory.mktemp("run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    # Every AWS call of the services, one folder a session: deploy/tests/grants checks them against the stack.
    calls = tmp_path_factory.getbasetemp() / "aws-calls"
    env.update(PHOTOLANE_PORT=str(port), PHOTOLANE_AWS_PORT="0", PHOTOLANE_RUN_DIR=str(run_dir),
               PHOTOLANE_AWS_CALL_LOG=str(calls), **extra_env)
    log = run_dir / "services.log"
    with open(log, "wb") as errors:
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
    yield Running(f"http://127.0.0.1:{port}", token, standin_url, StandInClient(standin_url), run_dir, log)

    launcher.send_signal(signal.SIGINT)  # what Ctrl-C does
    assert launcher.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert not port_in_use(port) and not port_in_use(int(standin_url.rsplit(":", 1)[1]))
    assert not list(run_dir.glob("*.health"))  # both workers stopped cleanly
    error_lines = [line for line in log.read_text().splitlines() if '"level": "error"' in line]
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
