"""The whole pipeline, started the way `make run` starts it, driven over real HTTP."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageOps

from photolane.standin import StandInClient, free_port, port_in_use
from photolane.testing import ROOT, exif_rotated, pixel_difference

pytestmark = pytest.mark.e2e


@dataclass
class Running:
    url: str
    admin_token: str
    standin: StandInClient
    run_dir: Path
    log: Path


def _wait_for(check: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    run_dir = tmp_path_factory.mktemp("run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    env.update(PHOTOLANE_PORT=str(port), PHOTOLANE_AWS_PORT="0", PHOTOLANE_RUN_DIR=str(run_dir))
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
    yield Running(f"http://127.0.0.1:{port}", token, StandInClient(standin_url), run_dir, log)

    launcher.send_signal(signal.SIGINT)  # what Ctrl-C does
    assert launcher.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert not port_in_use(port) and not port_in_use(int(standin_url.rsplit(":", 1)[1]))
    assert not list(run_dir.glob("*.health"))  # both workers stopped cleanly
    assert '"level": "error"' not in log.read_text().replace('"event": "message.failed"', "")


def _upload(running: Running, data: bytes, name: str = "photo.jpg", **fields: str) -> requests.Response:
    return requests.post(f"{running.url}/api/photos", files={"file": (name, data)}, data=fields, timeout=30)


def _finished(running: Running, photo_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        photo = requests.get(f"{running.url}/api/photos/{photo_id}", timeout=10).json()
        return photo if photo["status"] in ("processed", "failed") else None

    return _wait_for(done, what=f"photo {photo_id} to finish")


def _image(url: str) -> Image.Image:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200
    return Image.open(io.BytesIO(answer.content))


def test_uploaded_photo_is_processed_and_the_uploader_told(running: Running, faces_dir: Path) -> None:
    phone, email = f"+1415555{uuid.uuid4().int % 10_000:04d}", f"{uuid.uuid4().hex[:8]}@example.com"
    original = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    answer = _upload(running, original, email=email, phone=phone)
    assert answer.status_code == 202 and answer.json()["status"] == "queued"

    photo = _finished(running, answer.json()["id"])
    assert photo["status"] == "processed", photo["error"]
    assert len(photo["faces"]) == 3
    assert all(face["person"] is None for face in photo["faces"])
    assert pixel_difference(_image(photo["flipped_url"]), ImageOps.mirror(Image.open(io.BytesIO(original)))) < 3
    thumbnail = _image(photo["thumbnail_url"])
    assert max(thumbnail.size) == 256 and thumbnail.format == "JPEG"
    assert requests.get(photo["results_url"], timeout=10).text.count("\n") == 4  # header + 3 faces

    def told() -> dict[str, Any] | None:
        record = requests.get(f"{running.url}/api/photos/{photo['id']}", timeout=10).json()
        statuses = {n["channel"]: n["status"] for n in record["notifications"]}
        return record if statuses == {"sms": "sent", "email": "sent"} else None

    record = _wait_for(told, what="SMS and email")
    assert {n["to"] for n in record["notifications"]} == {phone, email}
    assert len([m for m in running.standin.sms() if m["phone_number"] == phone]) == 1
    emails = [m for m in running.standin.emails() if email in m["destinations"]["ToAddresses"]]
    assert len(emails) == 1 and photo["id"] in emails[0]["body"]
    outbox = (running.run_dir / "outbox" / "events.jsonl").read_text()
    assert photo["id"] in outbox


def test_portrait_stored_sideways_comes_out_upright(running: Running, faces_dir: Path) -> None:
    data = exif_rotated(faces_dir / "obama_2.jpg", 6)
    photo = _finished(running, _upload(running, data).json()["id"])
    assert photo["status"] == "processed"
    assert (photo["width"], photo["height"], len(photo["faces"])) == (626, 1200, 1)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert pixel_difference(_image(photo["flipped_url"]), ImageOps.mirror(upright)) < 3


def test_corrupt_file_is_refused_and_the_service_keeps_serving(running: Running) -> None:
    refused = _upload(running, b"\x89PNG\r\n\x1a\n this is no image", name="broken.png")
    assert refused.status_code == 400
    assert "not a readable image" in refused.json()["error"]
    bad_phone = _upload(running, b"x", phone="12345")
    assert bad_phone.status_code == 400 and "E.164" in bad_phone.json()["error"]
    assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200


def test_undecodable_photo_ends_failed_and_the_pipeline_goes_on(running: Running, faces_dir: Path) -> None:
    whole = (faces_dir / "kit_harington_2.jpg").read_bytes()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    accepted = _upload(running, whole[: len(whole) // 2], email=email)  # header intact, data cut
    assert accepted.status_code == 202
    failed = _finished(running, accepted.json()["id"])
    assert failed["status"] == "failed"
    assert "cannot be decoded" in failed["error"]
    _wait_for(lambda: [m for m in running.standin.emails() if email in m["destinations"]["ToAddresses"]],
              what="the failure email")
    after = _finished(running, _upload(running, (faces_dir / "biden_2.jpg").read_bytes()).json()["id"])
    assert after["status"] == "processed" and len(after["faces"]) == 1


def test_browser_form_upload_shows_the_processed_photo(running: Running, faces_dir: Path) -> None:
    form = requests.get(running.url, timeout=10)
    assert form.status_code == 200 and 'type="file"' in form.text
    photo = (faces_dir / "kit_harington_2.jpg").read_bytes()
    sent = requests.post(f"{running.url}/photos", files={"file": ("kit.jpg", photo)},
                         data={"email": "", "phone": ""}, allow_redirects=False, timeout=30)
    assert sent.status_code == 303
    page_url = running.url + sent.headers["Location"]

    def processed_page() -> str | None:
        text = requests.get(page_url, timeout=10).text
        return text if ">processed<" in text else None

    page = _wait_for(processed_page, what="the page to show processed")
    assert "1 face found" in page
    for caption in ("original", "flipped", "thumbnail"):
        src = re.search(rf'<img src="([^"]+)" alt="{caption}"', page).group(1).replace("&amp;", "&")
        assert _image(src).format == "JPEG"


def test_admin_token_printed_at_start_is_the_one_the_service_takes(running: Running) -> None:
    url = f"{running.url}/api/admin/uploads"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    ok = requests.get(url, headers={"Authorization": f"Bearer {running.admin_token}"}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"blocked": False}
