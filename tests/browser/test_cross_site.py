"""From a second origin: another site's pages (a second HTTP server on 127.0.0.1, another port) make a
real browser post a photo upload to photolane, by a form and by ``fetch``. The browser itself sets
``Origin`` and ``Sec-Fetch-Site``; photolane answers 403, and no photo is stored, queued or texted.

The other site is reached two ways: as ``localhost`` (another site: ``Sec-Fetch-Site: cross-site``) and
as ``127.0.0.1`` on its own port (the same site, another origin: ``same-site`` with a foreign
``Origin``). The statuses are read from the browser's own network events (DevTools), the same request
from photolane's own page is the control."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By

from photolane.testing import wait_for

from ..e2e.conftest import Running
from .test_web import _text, _until

pytestmark = pytest.mark.e2e

PHONE = "+14155552671"  # the number an attacking page would choose: it must never get an SMS
# The attacking site's pages: no CSP there (it is not photolane), but the script still comes from a file.
FORMS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Win a prize</title></head>
<body style="font: 18px sans-serif; background: #fde68a; padding: 2em">
<h1>Another site: win a prize!</h1>
<form id="to-api" method="post" enctype="multipart/form-data" action="{app}/api/photos">
  <input type="file" name="file"><input type="hidden" name="phone" value="{phone}">
  <button type="submit">Send to the API</button>
</form>
<form id="to-page" method="post" enctype="multipart/form-data" action="{app}/photos">
  <input type="file" name="file"><input type="hidden" name="phone" value="{phone}">
  <button type="submit">Send to the upload form</button>
</form>
</body></html>
"""
FETCH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Win a prize</title></head>
<body style="font: 18px sans-serif; background: #fde68a; padding: 2em" data-app="{app}" data-phone="{phone}">
<h1>Another site, posting with fetch</h1><p id="outcome">waiting</p>
<script src="fetch.js"></script>
</body></html>
"""
FETCH_SCRIPT = """
(async () => {
  const out = document.getElementById("outcome");
  const photo = await (await fetch("photo.jpg")).blob();
  const form = new FormData();
  form.append("file", photo, "photo.jpg");
  form.append("phone", document.body.dataset.phone);
  try {
    const answer = await fetch(document.body.dataset.app + "/api/photos", {method: "POST", body: form});
    out.textContent = "answered " + answer.status;
  } catch (err) {
    out.textContent = "failed: " + err;  // no CORS header on photolane's answer: the page cannot read it
  }
})();
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def other_site(site: Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The other site's server (127.0.0.1 only, a free port): its pages post to photolane. Its port."""
    folder = tmp_path_factory.mktemp("other-site")
    (folder / "forms.html").write_text(FORMS.format(app=site.url, phone=PHONE))
    (folder / "fetch.html").write_text(FETCH_PAGE.format(app=site.url, phone=PHONE))
    (folder / "fetch.js").write_text(FETCH_SCRIPT)
    (folder / "photo.jpg").write_bytes(_jpeg())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@dataclass(frozen=True)
class Sent:
    status: int | None
    origin: str | None
    fetch_site: str | None


def _posts(driver: Any, url: str) -> list[Sent]:
    """The POSTs the browser sent to ``url`` since the last call: the status it received and the headers
    it set itself (DevTools' network events, the raw headers as they went out)."""
    posts: list[str] = []
    statuses: dict[str, int] = {}
    headers: dict[str, dict[str, str]] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent" and params["request"]["url"] == url \
                and params["request"]["method"] == "POST":
            posts.append(params["requestId"])
        elif method == "Network.requestWillBeSentExtraInfo":
            headers[params["requestId"]] = {k.lower(): v for k, v in params["headers"].items()}
        elif method == "Network.responseReceivedExtraInfo":
            statuses[params["requestId"]] = params.get("statusCode")
    return [Sent(statuses.get(r), headers.get(r, {}).get("origin"), headers.get(r, {}).get("sec-fetch-site"))
            for r in posts]


def _page_text(driver: Any) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _photo_ids(site: Running) -> set[str]:
    export = requests.get(f"{site.url}/api/admin/export", timeout=30,
                          headers={"Authorization": f"Bearer {site.admin_token}"})
    assert export.status_code == 200, export.text
    return {p["id"] for p in export.json()["photos"]}


def _refusals_logged(site: Running, host: str) -> int:
    lines = [json.loads(line) for line in site.service_logs().splitlines()
             if '"request.cross_site_refused"' in line]
    return sum(1 for line in lines if line.get("origin_host") == host)


def _outbox(site: Running) -> str:
    return "".join(p.read_text() for p in sorted((site.run_dir / "outbox").glob("*")) if p.is_file())


@pytest.mark.parametrize(("host", "fetch_site"), [("localhost", "cross-site"), ("127.0.0.1", "same-site")])
def test_another_sites_form_and_fetch_are_refused_and_store_nothing(
        site: Running, other_site: int, browser: Any, screenshot: Any, tmp_path: Path,
        host: str, fetch_site: str) -> None:
    other = f"http://{host}:{other_site}"
    before = _photo_ids(site)
    logged = _refusals_logged(site, host)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(_jpeg())
    driver = browser(network_log=True)

    # A form on the other site, posting the upload to the API, then to the upload page's form route.
    for form, target, name in (("to-api", "/api/photos", "api"), ("to-page", "/photos", "page")):
        driver.get(f"{other}/forms.html")
        if form == "to-api":
            screenshot(driver, f"other-site-forms-{fetch_site}")
        driver.find_element(By.CSS_SELECTOR, f"#{form} input[type=file]").send_keys(str(photo))
        driver.find_element(By.CSS_SELECTOR, f"#{form} button").click()
        _until(driver, lambda d, t=target: d.current_url == f"{site.url}{t}", what=f"photolane's answer to {target}")
        shown = driver.execute_script("return performance.getEntriesByType('navigation')[0].responseStatus")
        assert shown == 403, (target, shown)
        assert "another site" in _page_text(driver)
        assert _posts(driver, f"{site.url}{target}") == [Sent(403, other, fetch_site)]
        screenshot(driver, f"refused-{name}-{fetch_site}")
    assert "Refused" in _page_text(driver)  # the upload form's route answers with the site's page

    # A script on the other site, posting a FormData with fetch (no preflight: the request goes out).
    driver.get(f"{other}/fetch.html")
    _until(driver, lambda d: _text(d, "outcome") != "waiting", what="the other site's fetch")
    assert _text(driver, "outcome").startswith("failed"), _text(driver, "outcome")
    assert _posts(driver, f"{site.url}/api/photos") == [Sent(403, other, fetch_site)]
    screenshot(driver, f"other-site-fetch-{fetch_site}")

    wait_for(lambda: _refusals_logged(site, host) == logged + 3, timeout=10, what="the three refusals logged")
    assert _photo_ids(site) == before  # no record, so no original kept and no job queued
    assert PHONE not in _outbox(site)  # and no SMS to the number the other site chose


def test_the_same_fetch_from_photolanes_own_page_is_accepted(site: Running, browser: Any) -> None:
    """The control: what the other site's script did, from photolane's own page (Origin and
    Sec-Fetch-Site set by the browser just the same) is an upload like any other."""
    before = _photo_ids(site)
    driver = browser(network_log=True)
    driver.get(site.url)
    answer = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const canvas = Object.assign(document.createElement("canvas"), {width: 64, height: 48});
        canvas.getContext("2d").fillRect(0, 0, 64, 48);
        canvas.toBlob(async (photo) => {
            const form = new FormData();
            form.append("file", photo, "photo.jpg");
            const answer = await fetch("/api/photos", {method: "POST", body: form});
            done([answer.status, (await answer.json()).id]);
        }, "image/jpeg");
    """)
    assert answer[0] == 202, answer
    assert _posts(driver, f"{site.url}/api/photos") == [Sent(202, site.url, "same-origin")]
    assert _photo_ids(site) == before | {answer[1]}
