"""pytest fixtures shared by every layer of tests (loaded with ``-p photolane.testing``).

The AWS stand-in is a real moto server over HTTP, started once per test session; each test gets
resources of its own (unique names), so tests never see each other's data.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from photolane_common.resources import Resources, ensure_resources
from photolane_common.settings import CommonSettings

from .standin import STANDIN_ENV, StandInClient, free_port, start_standin, stop_process, wait_for_standin

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT / "tests" / "fixtures" / "faces"


def wait_for(check: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    """Poll until ``check`` returns something truthy (and return it), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return FACES


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInClient]:
    port = free_port()
    log = open(tmp_path_factory.mktemp("standin") / "standin.log", "ab")
    process = start_standin(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_standin(url, process)
        yield StandInClient(url)
    finally:
        stop_process(process)
        log.close()


MEMCACHED = "/usr/bin/memcached"  # Debian's memcached (scripts/test-deps.sh installs it)


@pytest.fixture(scope="session")
def memcached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real memcached on 127.0.0.1 and a free port, for the session: its ``host:port``."""
    import shutil
    import socket
    import subprocess

    binary = shutil.which("memcached") or MEMCACHED
    if not Path(binary).exists():
        pytest.fail("memcached is not installed: run scripts/test-deps.sh (make test does)")
    port = free_port()
    command = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "32"]
    if os.geteuid() == 0:
        command += ["-u", "root"]  # memcached refuses to run as root unless told which user to be
    log = open(tmp_path_factory.mktemp("memcached") / "memcached.log", "ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return process.poll() is not None and pytest.fail(f"memcached exited with {process.returncode}")

    try:
        wait_for(answers, 10, "memcached")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)
        log.close()


@dataclass(frozen=True)
class Stack:
    """One test's own resources on the stand-in, and the environment that names them."""

    env: dict[str, str]
    resources: Resources
    standin: StandInClient


@pytest.fixture
def stack(standin: StandInClient, monkeypatch: pytest.MonkeyPatch) -> Stack:
    suffix = uuid.uuid4().hex[:10]
    env = {
        **STANDIN_ENV,
        "AWS_ENDPOINT_URL": standin.url,
        "PHOTOLANE_BUCKET": f"photolane-{suffix}",
        "PHOTOLANE_PHOTOS_TABLE": f"photos-{suffix}",
        "PHOTOLANE_PEOPLE_TABLE": f"people-{suffix}",
        "PHOTOLANE_SETTINGS_TABLE": f"settings-{suffix}",
        "PHOTOLANE_FACES_TABLE": f"faces-{suffix}",
        "PHOTOLANE_COLLECTIONS_TABLE": f"collections-{suffix}",
        "PHOTOLANE_JOBS_QUEUE": f"jobs-{suffix}",
        "PHOTOLANE_NOTIFICATIONS_QUEUE": f"notifications-{suffix}",
        "PHOTOLANE_EVENTS_TOPIC": f"events-{suffix}",
        # One message a photo, as the tests of single photos expect; the batch tests give a window.
        "PHOTOLANE_BATCH_WINDOW_SECONDS": "0",
    }
    for key in [k for k in os.environ if k.startswith("PHOTOLANE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    resources = ensure_resources(CommonSettings())
    return Stack(env, resources, standin)


def exif_rotated(path: Path, orientation: int) -> bytes:
    """The photo stored sideways with an EXIF orientation (6 or 8) that turns it upright again."""
    from io import BytesIO

    from PIL import Image

    stored_turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    with Image.open(path) as upright:
        sideways = upright.transpose(stored_turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = BytesIO()
    sideways.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def pixel_difference(a: object, b: object) -> float:
    """Mean absolute difference per channel (0–255) of two same-sized images."""
    import numpy as np

    left = np.asarray(a.convert("RGB"), dtype=np.int16)  # type: ignore[attr-defined]
    right = np.asarray(b.convert("RGB"), dtype=np.int16)  # type: ignore[attr-defined]
    assert left.shape == right.shape, f"sizes differ: {left.shape} vs {right.shape}"
    return float(np.abs(left - right).mean())
