"""The walking pipeline through the containers: three images wired only by the stand-in's queues."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image, ImageOps

from photolane.testing import ROOT, pixel_difference, wait_for

from .conftest import DOCKER, ComposeStack

pytestmark = pytest.mark.containers


def _upload(stack: ComposeStack, data: bytes, name: str = "photo.jpg", **fields: str) -> str:
    answer = requests.post(f"{stack.url}/api/photos", files={"file": (name, data)}, data=fields, timeout=60)
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _photo(stack: ComposeStack, photo_id: str) -> dict:
    return requests.get(f"{stack.url}/api/photos/{photo_id}", timeout=10).json()


def _finished(stack: ComposeStack, photo_id: str, timeout: float = 120) -> dict:
    return wait_for(lambda: (p := _photo(stack, photo_id))["status"] in ("processed", "failed") and p,
                    timeout=timeout, what=f"photo {photo_id}")


def test_photo_goes_through_the_three_containers(stack: ComposeStack, faces_dir: Path) -> None:
    phone, email = f"+1415555{2000 + uuid.uuid4().int % 8000:04d}", f"{uuid.uuid4().hex[:8]}@example.com"
    original = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    photo = _finished(stack, _upload(stack, original, email=email, phone=phone))
    assert photo["status"] == "processed", photo["error"]
    assert len(photo["faces"]) == 3
    flipped = Image.open(io.BytesIO(requests.get(photo["flipped_url"], timeout=30).content))
    assert pixel_difference(flipped, ImageOps.mirror(Image.open(io.BytesIO(original)))) < 3
    thumb = Image.open(io.BytesIO(requests.get(photo["thumbnail_url"], timeout=30).content))
    assert max(thumb.size) == 256
    wait_for(lambda: {n["status"] for n in _photo(stack, photo["id"])["notifications"]} == {"sent"}
             and len(_photo(stack, photo["id"])["notifications"]) == 2, what="SMS and email")
    assert len([m for m in stack.standin.sms() if m["phone_number"] == phone]) == 1
    assert len([m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]) == 1
    refused = requests.post(f"{stack.url}/api/photos", files={"file": ("x.jpg", b"not an image")}, timeout=10)
    assert refused.status_code == 400


def test_every_container_runs_as_a_non_root_user(stack: ComposeStack) -> None:
    for service in ("aws", "upload", "processor", "notifier"):
        container = stack.container(service)
        exit_code, output = container.exec_run(["id", "-u"])
        assert exit_code == 0 and output.decode().strip() != "0", service
        assert container.attrs["Config"]["User"] not in ("", "0", "root"), service
        assert container.attrs["State"]["Health"]["Status"] == "healthy", service


def _slow_photo(faces_dir: Path) -> bytes:
    """A 48 MP PNG: small to upload (a smooth gradient), seconds of work for the processor. (Not WebP:
    the upload service refuses WebP above 26 MP, whose decoder needs 16 bytes a pixel.)"""
    x, y = np.linspace(0, 255, 8000, dtype=np.float32), np.linspace(0, 255, 6000, dtype=np.float32)
    pixels = np.stack([np.add.outer(y * 0, x), np.add.outer(y, x * 0), np.add.outer(y, x) / 2], axis=-1)
    canvas = Image.fromarray(pixels.astype(np.uint8))
    canvas.paste(Image.open(faces_dir / "obama_2.jpg"), (1000, 1000))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    return out.getvalue()


def test_a_worker_stopped_mid_job_loses_nothing(stack: ComposeStack, faces_dir: Path) -> None:
    processor = stack.container("processor")
    photo_id = _upload(stack, _slow_photo(faces_dir), name="big.png")
    wait_for(lambda: _photo(stack, photo_id)["status"] == "processing", timeout=60, what="processing")
    processor.stop(timeout=1)  # SIGTERM, then SIGKILL after 1 s: the job in hand is cut off
    assert _photo(stack, photo_id)["status"] == "processing"
    processor.start()
    photo = _finished(stack, photo_id, timeout=180)
    assert photo["status"] == "processed" and len(photo["faces"]) == 1
    logs = processor.logs().decode()
    assert re.search(rf'"photo_id": "{photo_id}".*"receive_count": 2', logs), "finished by the restarted worker"


def test_more_processors_share_the_queue(stack: ComposeStack, faces_dir: Path) -> None:
    """`docker compose up --scale processor=3` works: workers only share a queue."""
    subprocess.run([DOCKER, "compose", "-f", str(ROOT / "docker-compose.yml"), "up", "-d", "--wait",
                    "--no-recreate", "--scale", "processor=3", "processor"], check=True, capture_output=True)
    processors = [c for c in stack.compose.get_containers() if c.Service == "processor"]
    assert len(processors) == 3
    ids = [_upload(stack, (faces_dir / name).read_bytes())
           for name in ("biden_2.jpg", "kit_harington_2.jpg", "rose_leslie_2.jpg", "obama_3.jpg", "obama_1.jpg")]
    assert [_finished(stack, i)["status"] for i in ids] == ["processed"] * len(ids)


def test_the_command_line_drives_the_containers(stack: ComposeStack, faces_dir: Path) -> None:
    """The host's `photolane` against the compose stack: uploads by HTTP, statistics over its queues."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    env.update(PHOTOLANE_URL=stack.url, AWS_ENDPOINT_URL=stack.standin.url)
    photolane = str(Path(sys.executable).with_name("photolane"))
    uploaded = subprocess.run([photolane, "upload", str(faces_dir / "obama_2.jpg"), "--wait"], env=env,
                              capture_output=True, text=True, timeout=180)
    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stdout.strip().split("\t")[2:] == ["processed", "1 face: 1 unknown"]
    stats = subprocess.run([photolane, "stats", "4", "1", "3", "2"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.split() == ["count", "4", "min", "1", "max", "4", "mean", "2.5", "median", "2.5"]


def test_the_pages_are_served_with_a_session_key_made_once(stack: ComposeStack, faces_dir: Path) -> None:
    """Compose gives no session key: the upload container makes one in its volume, and the form works."""
    browser = requests.Session()
    page = browser.get(stack.url, timeout=10)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    sent = browser.post(f"{stack.url}/photos", data={"csrf_token": token, "email": "compose@example.com"},
                        files={"file": ("me.jpg", (faces_dir / "rose_leslie_1.jpg").read_bytes())},
                        timeout=60, allow_redirects=False)
    assert sent.status_code == 303, sent.text[:300]
    assert "HttpOnly" in sent.headers.get("Set-Cookie", "")
    photo_id = sent.headers["Location"].rsplit("/", 1)[1]
    assert f'id="photo-{photo_id}"' in browser.get(f"{stack.url}/gallery", timeout=10).text
    assert requests.get(f"{stack.url}/gallery", timeout=10, allow_redirects=False).status_code in (302, 303, 401)
    key_file = stack.container("upload").exec_run(["sh", "-c", "ls -l /var/lib/photolane/secrets"]).output.decode()
    assert "session-key" in key_file and "-rw-------" in key_file


def _die(container: Any) -> None:
    """The container's process dies (as in a crash or the OOM killer), not a `docker kill`, which
    Docker takes for a stop on purpose (no restart policy restarts it)."""
    container.reload()
    try:
        os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)  # the engine's host: we are root here
    except PermissionError:
        container.exec_run(["python", "-c", "import os, signal; os.kill(1, signal.SIGTERM)"])


def _restarted(container: Any, started: str) -> bool:
    container.reload()
    return container.attrs["State"]["StartedAt"] != started and container.status == "running"


def test_dead_containers_come_back_and_a_restarted_stand_in_is_a_503_meanwhile(stack: ComposeStack,
                                                                               faces_dir: Path) -> None:
    """restart: always: a container whose process dies is started again; nothing is answered 500."""
    before = _upload(stack, (faces_dir / "biden_2.jpg").read_bytes())
    assert _finished(stack, before)["status"] == "processed"
    notifier = stack.container("notifier")
    started = notifier.attrs["State"]["StartedAt"]
    _die(notifier)
    wait_for(lambda: _restarted(notifier, started), timeout=60, what="the notifier started again")

    aws = stack.container("aws")
    started = aws.attrs["State"]["StartedAt"]
    _die(aws)
    answers = []
    for _ in range(240):  # until the keeper has put the resources and data back
        answer = requests.get(f"{stack.url}/api/photos/{before}", timeout=60)
        answers.append(answer.status_code)
        # 404: the resources are back, the photo not (yet): bringing it back is the keeper's (test_persistence)
        assert answer.status_code in (200, 404, 503), answer.text
        if answer.status_code != 503:
            break
        assert "not reachable" in answer.json()["error"] and answer.headers["Retry-After"]
        time.sleep(0.5)
    assert answers[-1] != 503, answers
    assert _restarted(aws, started)

    def accepted() -> str | None:
        """The photos table comes back first, the others a moment later: 503 until then, never 500."""
        answer = requests.post(f"{stack.url}/api/photos", timeout=60, data={"email": "back@example.com"},
                               files={"file": ("photo.jpg", (faces_dir / "biden_1.jpg").read_bytes())})
        assert answer.status_code in (202, 503), answer.text
        return answer.json()["id"] if answer.status_code == 202 else None

    after = wait_for(accepted, timeout=60, what="uploads accepted again")
    assert _finished(stack, after, timeout=180)["status"] == "processed"
