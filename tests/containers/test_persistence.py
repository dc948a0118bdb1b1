"""docker compose keeps the data: ``down`` then ``up`` finds the photos, ``down -v`` starts empty."""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from photolane.standin import free_port
from photolane.testing import FACES, ROOT, wait_for

from .conftest import DOCKER

pytestmark = pytest.mark.containers


@contextmanager
def _project() -> Iterator[tuple[list[str], str, dict[str, str]]]:
    """A compose project of its own (its own volumes), removed with them at the end."""
    port, aws_port = free_port(), free_port()
    env = {**os.environ, "COMPOSE_PROJECT_NAME": f"photolane-keep-{uuid.uuid4().hex[:8]}",
           "TAG": os.environ.get("TAG", "latest"),  # the images make images built
           "PHOTOLANE_PORT": str(port), "PHOTOLANE_AWS_PORT": str(aws_port),
           "PHOTOLANE_ADMIN_TOKEN": secrets.token_urlsafe(16), "PHOTOLANE_SNAPSHOT_SECONDS": "1"}
    compose = [DOCKER, "compose", "-f", str(ROOT / "docker-compose.yml")]
    try:
        yield compose, f"http://127.0.0.1:{port}", env
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, cwd=ROOT, capture_output=True, timeout=300)


def _run(compose: list[str], env: dict[str, str], *args: str) -> None:
    done = subprocess.run([*compose, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_down_then_up_keeps_the_data_and_down_v_starts_empty() -> None:
    with _project() as (compose, url, env):
        _run(compose, env, "up", "-d", "--wait")
        answer = requests.post(f"{url}/api/photos", timeout=60,
                               files={"file": ("obama.jpg", (FACES / "obama_1.jpg").read_bytes())})
        assert answer.status_code == 202, answer.text
        photo_id = answer.json()["id"]
        before = wait_for(lambda: (p := requests.get(f"{url}/api/photos/{photo_id}", timeout=10).json())["status"]
                          == "processed" and p, 180, "the photo")
        thumbnail = requests.get(before["thumbnail_url"], timeout=10).content

        _run(compose, env, "down")  # the keeper's last snapshot, then the stand-in goes (its memory with it)
        _run(compose, env, "up", "-d", "--wait")
        after = requests.get(f"{url}/api/photos/{photo_id}", timeout=10).json()
        assert after["status"] == "processed" and len(after["faces"]) == len(before["faces"])
        assert requests.get(after["thumbnail_url"], timeout=10).content == thumbnail

        _run(compose, env, "down", "-v")  # the volumes too: the next up starts empty
        _run(compose, env, "up", "-d", "--wait")
        assert requests.get(f"{url}/api/photos/{photo_id}", timeout=10).status_code == 404
