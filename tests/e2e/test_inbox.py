"""The local inbox through the real path: photolane started as `make run` starts it, a sign-in link asked
for on the page, found on /dev/inbox and by `photolane inbox`, and opened."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from photolane.testing import wait_for

from .conftest import Running, finished, upload

pytestmark = pytest.mark.e2e

PHOTOLANE = Path(sys.executable).with_name("photolane")  # the installed console script


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _ask_for_a_link(running: Running, email: str) -> str:
    browser = requests.Session()
    answer = browser.post(f"{running.url}/signin", timeout=10,
                          data={"email": email, "csrf_token": _csrf(browser, f"{running.url}/signin")})
    assert answer.status_code == 200
    return answer.text


def _signin_links(running: Running, email: str) -> list[str]:
    """The sign-in links /dev/inbox shows for ``email`` (the hrefs of its sign-in emails' links)."""
    page = requests.get(f"{running.url}/dev/inbox", timeout=30)
    assert page.status_code == 200 and "This page exists only in local mode" in page.text
    cards = re.findall(r'<li class="card inbox-message".*?</li>', page.text, re.DOTALL)
    return [link for card in cards if f"<strong>{email}</strong>" in card
            for link in re.findall(r'<a href="([^"]+)" class="signin-link">', card)]


def _cli(running: Running, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    env["PHOTOLANE_URL"] = running.url  # no token, no AWS endpoint: the inbox needs neither
    return subprocess.run([str(PHOTOLANE), *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_signin_link_is_in_the_local_inbox_and_in_the_terminal_and_opens_the_gallery(running: Running) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    sent = upload(running, _jpeg(), email=email)
    assert sent.status_code == 202, sent.text
    photo_id = sent.json()["id"]
    assert finished(running, photo_id)["status"] == "processed"

    # Asked twice within the minute: the notifier sends the first link and drops the second request.
    first = _ask_for_a_link(running, email)
    assert "sign-in link is on its way" in first
    assert re.search(r'In local mode, the messages sent are at <a href="/dev/inbox">/dev/inbox</a>', first)
    again = _ask_for_a_link(running, email)
    assert "sign-in link is on its way" in again  # the same answer: nothing tells the second was dropped
    wait_for(lambda: '"signin.throttled"' in (running.run_dir / "logs" / "notifier.log").read_text(),
             what="the notifier to drop the second request")
    links = wait_for(lambda: _signin_links(running, email), what="the sign-in email in the inbox")
    assert len(links) == 1  # the earlier link, the one to use
    link = links[0]
    assert link.startswith(f"{running.url}/signin/open#")
    page = requests.get(f"{running.url}/dev/inbox", timeout=30).text
    assert f"to <strong>{email}</strong>" in page and "Your photo is ready" in page  # the photo's email too

    # The terminal shows the same link.
    printed = _cli(running, "inbox")
    assert printed.returncode == 0, printed.stderr
    assert f"email to {email}  (sign-in link, works once, until " in printed.stdout
    assert f"Open your gallery: {link}\n" in printed.stdout
    newest = _cli(running, "inbox", "--signin", "-n", "1")
    assert newest.returncode == 0 and link in newest.stdout

    # Opened as its page's script does: the token from the fragment, posted with the page's CSRF token.
    laptop = requests.Session()
    csrf = _csrf(laptop, f"{running.url}/signin/open")
    opened = laptop.post(f"{running.url}/signin/open", timeout=10, allow_redirects=False,
                         data={"link": link.split("#", 1)[1], "csrf_token": csrf})
    assert opened.status_code == 303 and opened.headers["Location"] == "/gallery"
    gallery = laptop.get(f"{running.url}/gallery", timeout=10)
    assert gallery.status_code == 200 and f'id="photo-{photo_id}"' in gallery.text
    # The token is in no log: the inbox read it from the stand-in, and nothing wrote it down.
    token = link.split("#", 1)[1]
    assert token not in running.service_logs() and token not in running.log.read_text(errors="replace")
