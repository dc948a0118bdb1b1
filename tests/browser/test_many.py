"""Many photos at once on the upload page, in a real browser against the real stack: chosen together (a
multiple file field), the email and phone checked before any file is sent, three sent at a time with a
bar each and a total (with an email too: those leave the session cookie alone and their receipts are claimed
into it one claim at a time), each row followed live to processed with its thumbnail and its page; refusals
per photo with the server's reason; a 429 stops the photos not sent yet."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By

from ..e2e.conftest import Running, started
from .test_look import _fits_a_phone, _images_have_alt
from .test_web import _text, _until

pytestmark = pytest.mark.e2e

# Records, from before the click on Upload, what the page shows: how many rows show their own bar at
# once, the total bar (shown, its values), and each row's states in order.
WATCH = """
window.seenMany = {maxBars: 0, totalShown: false, totals: [], states: {}};
const note = () => {
  const s = window.seenMany;
  const bars = [...document.querySelectorAll('#batch-list .upload-bar-line')].filter(e => !e.hidden);
  s.maxBars = Math.max(s.maxBars, bars.length);
  const total = document.getElementById('upload-bar');
  if (!document.getElementById('upload-progress').hidden) s.totalShown = true;
  s.totals.push(Number(total.value) / Number(total.max));
  for (const row of document.querySelectorAll('#batch-list .upload-row')) {
    const seen = s.states[row.id] = s.states[row.id] || [];
    if (seen[seen.length - 1] !== row.dataset.state) seen.push(row.dataset.state);
  }
};
new MutationObserver(note).observe(document.body, {subtree: true, attributes: true, childList: true,
                                                   characterData: true});
"""
ORDER = ["waiting", "uploading", "queued", "processing", "processed"]
SUBMIT = "#upload-form button[type=submit]"


def _email() -> str:
    return f"{uuid.uuid4().hex[:8]}@example.com"


def _rows(driver: Any) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#batch-list .upload-row")


def _states(driver: Any) -> list[str]:
    return [row.get_attribute("data-state") for row in _rows(driver)]


def _choose(driver: Any, paths: list[Path]) -> None:
    """Several files at once into the multiple file field (what a picker's multi-select gives)."""
    field = driver.find_element(By.NAME, "file")
    assert field.get_attribute("multiple") is not None and field.get_attribute("accept") == "image/*"
    field.send_keys("\n".join(str(p) for p in paths))


def _photos_of(site: Running, email: str) -> list[dict[str, Any]]:
    export = requests.get(f"{site.url}/api/admin/export", timeout=30,
                          headers={"Authorization": f"Bearer {site.admin_token}"}).json()
    return [p for p in export["photos"] if (p.get("email") or "").lower() == email]


class Network:
    """The requests a page sends, from the DevTools network log (``browser(network_log=True)``). Reading
    the log empties it: every entry is kept here, from the last ``start()``."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.sent: dict[str, list[Any]] = {}  # request id -> [method, path, status]
        self.times: dict[str, list[float | None]] = {}  # request id -> [sent, done] (DevTools' clock, seconds)
        self.cookies: set[str] = set()  # the ids of the requests whose answer set a cookie

    def start(self) -> None:
        self.driver.get_log("performance")
        self.sent.clear()
        self.times.clear()
        self.cookies.clear()

    def _read(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params, method = message.get("params", {}), message["method"]
            known = params.get("requestId") in self.sent
            if method == "Network.requestWillBeSent":
                self.sent[params["requestId"]] = [params["request"]["method"],
                                                  urlsplit(params["request"]["url"]).path, None]
                self.times[params["requestId"]] = [params["timestamp"], None]
            elif method == "Network.responseReceived" and known:
                self.sent[params["requestId"]][2] = params["response"]["status"]
            elif method in ("Network.loadingFinished", "Network.loadingFailed") and known:
                self.times[params["requestId"]][1] = params["timestamp"]
            elif method == "Network.responseReceivedExtraInfo" and \
                    any(k.lower() == "set-cookie" for k in params.get("headers", {})):
                self.cookies.add(params["requestId"])

    def to(self, path: str) -> list[tuple[str, int | None]]:
        """(method, status) of each request sent to ``path`` since ``start()``."""
        self._read()
        return [(method, status) for method, at, status in self.sent.values() if at == path]

    def spans(self, path: str) -> list[tuple[float, float]]:
        """(sent, done) of each finished request to ``path`` since ``start()``, in the order sent."""
        self._read()
        return sorted((start, done) for rid, (start, done) in self.times.items()
                      if self.sent[rid][1] == path and done is not None)

    def cookie_setters(self) -> list[str]:
        """The path of each request since ``start()`` whose answer set a cookie."""
        self._read()
        return [self.sent[rid][1] for rid in self.cookies if rid in self.sent]


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most of these requests that were on their way at one moment."""
    edges = sorted([(start, 1) for start, _ in spans] + [(done, -1) for _, done in spans])
    running = most = 0
    for _, step in edges:  # at a tie, an end (-1) sorts first: touching requests did not overlap
        running += step
        most = max(most, running)
    return most


def test_three_photos_chosen_at_once_go_up_together_and_each_is_followed_to_processed(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    driver = browser()
    driver.get(site.url)
    assert driver.find_element(By.ID, "dropzone").get_attribute("class") == "dropzone ready"
    assert "or drop them here" in driver.find_element(By.CSS_SELECTOR, ".drop-note").text
    screenshot(driver, "upload-many")
    screenshot(driver, "upload-many", phone=True)

    names = ["kit_harington_2.jpg", "obama_3.jpg", "rose_leslie_1.jpg"]  # 70, 79 and 52 KB
    _choose(driver, [faces_dir / n for n in names])
    assert _text(driver, "chosen").startswith("3 photos chosen")
    driver.find_element(By.NAME, "phone").send_keys("+447400123456")  # no email: three go at once
    # A slow line (about 60 KB/s up), so that the three bars can be seen filling together.
    driver.set_network_conditions(offline=False, latency=5, download_throughput=10 * 1024 * 1024,
                                  upload_throughput=60 * 1024)
    driver.execute_script(WATCH)
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()

    def three_bars(d: Any) -> bool:
        bars = d.find_elements(By.CSS_SELECTOR, "#batch-list .upload-bar-line progress")
        return len([b for b in bars if b.is_displayed()]) == 3 and \
            0 < d.execute_script("const b = document.getElementById('upload-bar'); return b.value / b.max") < 1

    _until(driver, three_bars, timeout=20, what="three bars filling and the total partly filled")
    assert driver.find_element(By.ID, "upload-bar").is_displayed()
    assert [r.find_element(By.CSS_SELECTOR, ".upload-name").text for r in _rows(driver)] == names
    screenshot(driver, "upload-many-progress")
    driver.delete_network_conditions()

    _until(driver, lambda d: _states(d) == ["processed"] * 3, timeout=120, what="three rows processed")
    seen = driver.execute_script("return window.seenMany")
    assert seen["maxBars"] == 3, seen  # a bar per photo, three at once
    assert seen["totalShown"] and max(seen["totals"]) == 1, seen["totals"]  # and the total, filled
    for row_id, states in seen["states"].items():  # each row went the whole way, live, in order
        assert {"uploading", "queued"} <= set(states) and states[-1] == "processed", (row_id, states)
        assert states == sorted(states, key=ORDER.index), (row_id, states)
    assert not driver.find_element(By.ID, "upload-progress").is_displayed()  # gone once every photo is in
    assert _text(driver, "batch-summary") == "3 photos · 3 processed"
    assert not driver.find_element(By.ID, "progress").is_displayed()  # the one-photo view is not this one's

    # Each row: its thumbnail (loaded), linked like its name to the photo's own page, and its faces.
    ids = []
    for row, name in zip(_rows(driver), names, strict=True):
        photo_id = row.find_element(By.CSS_SELECTOR, "a.upload-open").get_attribute("href").rsplit("/", 1)[1]
        ids.append(photo_id)
        photo = requests.get(f"{site.url}/api/photos/{photo_id}", timeout=10).json()
        assert (photo["status"], photo["filename"]) == ("processed", name)
        thumb = row.find_element(By.CSS_SELECTOR, ".upload-thumb img")
        assert urlsplit(thumb.get_attribute("src")).path == urlsplit(photo["thumbnail_url"]).path
        assert thumb.get_attribute("alt") == f"Thumbnail of {name}"
        _until(driver, lambda d, img=thumb: d.execute_script("return arguments[0].naturalWidth", img) > 0,
               what="the thumbnail")
        for link in row.find_elements(By.CSS_SELECTOR, ".upload-thumb a, a.upload-name, a.upload-open"):
            assert link.get_attribute("href") == f"{site.url}/photos/{photo_id}"
        assert row.find_element(By.CSS_SELECTOR, ".upload-note").text.startswith("1 face")
    _images_have_alt(driver)
    screenshot(driver, "upload-many-processed")
    screenshot(driver, "upload-many-processed", phone=True)
    _fits_a_phone(driver)

    # One click away: the photo's page.
    _rows(driver)[1].find_element(By.CSS_SELECTOR, "a.upload-open").click()
    _until(driver, lambda d: d.current_url == f"{site.url}/photos/{ids[1]}", what="the photo page")


# Two JPEGs made on a canvas, carried by a drag over the drop zone (what a file manager's drag gives the page).
DRAG = """
const files = await Promise.all([['dropped-1.jpg', '#c0392b'], ['dropped-2.jpg', '#27ae60']].map(([name, colour]) =>
  new Promise((resolve) => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 320, height: 240});
    const paint = canvas.getContext('2d');
    paint.fillStyle = colour;
    paint.fillRect(0, 0, 320, 240);
    canvas.toBlob((blob) => resolve(new File([blob], name, {type: 'image/jpeg'})), 'image/jpeg', 0.9);
  })));
window.dragged = new DataTransfer();
files.forEach((file) => window.dragged.items.add(file));
const zone = document.getElementById('dropzone');
for (const type of ['dragenter', 'dragover']) {
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: window.dragged}));
}
return zone.className;
"""
DROP = """
const zone = document.getElementById('dropzone');
const drop = new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: window.dragged});
zone.dispatchEvent(drop);
return [drop.defaultPrevented, zone.className];
"""


def test_photos_dropped_on_the_zone_are_taken_like_chosen_ones(site: Running, browser: Any, screenshot: Any) -> None:
    driver = browser()
    driver.get(site.url)
    assert driver.execute_script(DRAG) == "dropzone ready inviting dragging"  # the zone says: here
    screenshot(driver, "upload-many-dragging")
    prevented, after = driver.execute_script(DROP)
    assert prevented and after == "dropzone ready"  # taken by the page, not opened by the browser
    assert _text(driver, "chosen").startswith("2 photos chosen") and "dropped-1.jpg, dropped-2.jpg" in \
        _text(driver, "chosen")
    assert driver.execute_script("return document.querySelector('input[name=file]').files.length") == 2
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: _states(d) == ["processed"] * 2, timeout=120, what="the dropped photos processed")
    assert [r.find_element(By.CSS_SELECTOR, ".upload-name").text for r in _rows(driver)] == \
        ["dropped-1.jpg", "dropped-2.jpg"]
    assert all(r.find_element(By.CSS_SELECTOR, ".upload-note").text == "no faces found" for r in _rows(driver))


def _small_photos(folder: Path, count: int) -> list[Path]:
    """Small JPEGs (quick to send and to process): what a test about the sending needs."""
    paths = []
    for n in range(count):
        path = folder / f"small-{n + 1}.jpg"
        Image.new("RGB", (160, 120), (40 * n, 120, 200)).save(path, "JPEG")
        paths.append(path)
    return paths


def test_with_an_email_they_go_three_at_a_time_too_and_every_one_joins_this_browsers_gallery(
        site: Running, browser: Any, tmp_path: Path, screenshot: Any) -> None:
    """Uploads with an email sent together leave the session cookie alone (answers that overlapped would each
    write back a cookie missing the others' photos) and answer a receipt each; the page claims the receipts one
    claim at a time, so no two answers that set the cookie are ever on their way together and every photo joins
    this browser's gallery. A browser without a session gets one, and its form token, from the page's first
    claim (of nothing), before any photo goes; a photo sent alone afterwards from the same page is still taken."""
    *paths, extra = _small_photos(tmp_path, 7)
    driver, email = browser(network_log=True), _email()
    driver.get(site.url)  # a browser without a session
    _choose(driver, paths)
    driver.find_element(By.NAME, "email").send_keys(email)
    network = Network(driver)
    network.start()
    # A line with some latency, so that requests sent together are seen together.
    driver.set_network_conditions(offline=False, latency=150, download_throughput=10 * 1024 * 1024,
                                  upload_throughput=1024 * 1024)
    driver.execute_script(WATCH)
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: _states(d) == ["processed"] * 6, timeout=120, what="six rows processed")
    _until(driver, lambda d: not d.find_element(By.ID, "upload-progress").is_displayed(), what="the claims done")
    driver.delete_network_conditions()
    seen = driver.execute_script("return window.seenMany")
    assert seen["maxBars"] == 3 and seen["totalShown"] and max(seen["totals"]) == 1, seen  # three at once
    assert _text(driver, "batch-summary") == "6 photos · 6 processed"
    assert not [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#batch-list .upload-error") if e.text]

    uploads, claims = network.spans("/photos"), network.spans("/uploads/claim")
    assert sorted(network.to("/photos")) == [("POST", 202)] * 6 and len(uploads) == 6
    assert most_at_once(uploads) > 1, uploads  # several uploads on their way at once
    assert claims and all(status == 200 for _, status in network.to("/uploads/claim"))
    assert most_at_once(claims) == 1, claims  # one claim at a time
    assert claims[0][1] <= uploads[0][0], (claims, uploads)  # the session (and its token) before any photo
    assert set(network.cookie_setters()) == {"/uploads/claim"}, network.cookie_setters()  # never an upload
    ids = [row.find_element(By.CSS_SELECTOR, "a.upload-open").get_attribute("href").rsplit("/", 1)[1]
           for row in _rows(driver)]
    screenshot(driver, "upload-many-email")
    screenshot(driver, "upload-many-email", phone=True)

    # One more, alone, from the same page without reloading it: still taken (the claims kept the form's token).
    driver.find_element(By.NAME, "file").send_keys(str(extra))
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: _text(d, "status") == "processed", what="the seventh photo processed")
    assert not driver.find_element(By.ID, "upload-error").is_displayed()
    alone = driver.find_element(By.ID, "photo-page").get_attribute("href").rsplit("/", 1)[1]
    assert sorted(p["id"] for p in _photos_of(site, email)) == sorted([*ids, alone])
    driver.get(f"{site.url}/gallery")  # this browser's gallery: all seven, the one sent last first
    cards = driver.find_elements(By.CSS_SELECTOR, "#photos article")
    shown = [card.get_attribute("id").removeprefix("photo-") for card in cards]
    assert shown[0] == alone and sorted(shown) == sorted([*ids, alone]), (shown, ids, alone)
    screenshot(driver, "gallery-after-many")
    screenshot(driver, "gallery-after-many", phone=True)


def test_a_bad_phone_is_refused_before_any_file_is_sent_then_each_photo_gets_its_own_answer(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    driver, email = browser(network_log=True), _email()
    driver.get(site.url)
    bad = faces_dir / "README.md"  # not an image
    _choose(driver, [faces_dir / "biden_2.jpg", bad, faces_dir / "kit_harington_1.jpg"])
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "phone").send_keys("+33 6 12 34 56 78")  # a French mobile: no SMS go there
    network = Network(driver)
    network.start()
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: d.find_element(By.ID, "upload-error").is_displayed(), what="the phone's refusal")

    # The sentence the upload itself gives (after the whole file has gone up), as the form shows it.
    api = requests.post(f"{site.url}/api/photos", data={"phone": "+33 6 12 34 56 78"}, timeout=30,
                        files={"file": ("biden_2.jpg", (faces_dir / "biden_2.jpg").read_bytes())}).json()["error"]
    shown = _text(driver, "upload-error")
    assert shown == api[0].upper() + api[1:] + "." and shown.startswith("Phone: SMS are not sent to numbers of FR"), \
        (shown, api)
    phone = driver.find_element(By.NAME, "phone")
    assert phone.get_attribute("aria-invalid") == "true"
    assert driver.execute_script("return document.activeElement === arguments[0]", phone)
    screenshot(driver, "upload-many-bad-phone")
    screenshot(driver, "upload-many-bad-phone", phone=True)

    # No file was sent: one check (400), no upload, no photo.
    assert network.to("/api/contacts/check") == [("POST", 400)]
    assert network.to("/photos") == []
    assert _photos_of(site, email) == []
    assert not driver.find_element(By.ID, "batch").is_displayed()
    assert not driver.find_element(By.ID, "upload-progress").is_displayed()

    # The phone put right, the same three go: two photos processed, the other refused with the reason.
    phone.clear()
    phone.send_keys("+447400123456")
    assert phone.get_attribute("aria-invalid") is None
    network.start()
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: _states(d) == ["processed", "refused", "processed"], timeout=120,
           what="two processed, one refused")
    assert not driver.find_element(By.ID, "upload-error").is_displayed()  # the old refusal is gone
    refused = _rows(driver)[1]
    assert "not a readable image" in refused.find_element(By.CSS_SELECTOR, ".upload-error").text
    assert refused.find_element(By.CSS_SELECTOR, ".badge").text == "refused"
    assert not refused.find_elements(By.CSS_SELECTOR, ".upload-thumb img")
    assert _text(driver, "batch-summary") == "3 photos · 2 processed · 1 failed"
    assert sorted(p["filename"] for p in _photos_of(site, email)) == ["biden_2.jpg", "kit_harington_1.jpg"]
    assert {p["phone"] for p in _photos_of(site, email)} == {"+447400123456"}
    assert network.to("/api/contacts/check") == [("POST", 200)]  # checked once, before the first file
    assert sorted(network.to("/photos")) == [("POST", 202), ("POST", 202), ("POST", 400)]  # one request a photo
    _images_have_alt(driver)
    screenshot(driver, "upload-many-refused-one")
    screenshot(driver, "upload-many-refused-one", phone=True)


@pytest.fixture
def limited_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A stack of its own that takes two uploads an hour from a client."""
    with started(tmp_path_factory, PHOTOLANE_UPLOADS_PER_CLIENT_HOUR="2") as running:
        yield running


def test_too_many_uploads_stops_the_photos_not_sent_yet_and_keeps_them_chosen(
        limited_site: Running, browser: Any, tmp_path: Path, screenshot: Any) -> None:
    paths = _small_photos(tmp_path, 5)  # the limit, not the line, is what this is about
    # This address's two uploads of the hour, used up first, one after the other (three requests at once would
    # race on the stand-in's counter: moto does not apply concurrent ADDs atomically, DynamoDB does).
    for path in paths[:2]:
        sent = requests.post(f"{limited_site.url}/api/photos", files={"file": (path.name, path.read_bytes())},
                             timeout=30)
        assert sent.status_code == 202, sent.text
    driver = browser()
    driver.get(limited_site.url)
    _choose(driver, paths)
    driver.find_element(By.CSS_SELECTOR, SUBMIT).click()
    _until(driver, lambda d: d.find_element(By.ID, "upload-error").is_displayed(), timeout=30, what="the 429")
    _until(driver, lambda d: not d.find_element(By.ID, "upload-progress").is_displayed(), what="the end of sending")
    # Three went at once and were refused; the first refusal stopped the two not sent yet.
    assert _states(driver) == ["refused"] * 3 + ["skipped"] * 2
    message = _text(driver, "upload-error")
    assert message.startswith("Too many uploads from this address: the limit is 2 uploads an hour; try again in "), \
        message
    assert message.endswith("5 photos were not accepted; they stay chosen, so Upload can send them again later."), \
        message
    assert _text(driver, "chosen") == f"5 photos chosen ({_text(driver, 'chosen').split('(')[1].split(')')[0]}): " + \
        ", ".join(p.name for p in paths)  # the field holds them again
    assert _text(driver, "batch-summary") == "5 photos · 3 failed · 2 not sent"
    for row in _rows(driver)[:3]:
        assert "Too many uploads from this address" in row.find_element(By.CSS_SELECTOR, ".upload-error").text
    for row in _rows(driver)[3:]:
        assert row.find_element(By.CSS_SELECTOR, ".badge").text == "not sent"
        assert row.find_element(By.CSS_SELECTOR, ".upload-note").text == "stopped before it was sent"
    screenshot(driver, "upload-many-429")
    screenshot(driver, "upload-many-429", phone=True)
