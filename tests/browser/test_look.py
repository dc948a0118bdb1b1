"""How the pages look and behave for a person: the gallery's grid of thumbnails, the upload's progress
bar and spinner, local dates, styled error pages, visible keyboard focus, alt text, a phone's width.
Every page visited is saved as a screenshot (see the ``screenshot`` fixture)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ..e2e.conftest import Running
from .conftest import phone_width
from .test_web import _text, _until, upload_through_the_page

pytestmark = pytest.mark.e2e

# Records, from before the click on Upload, what the page shows: the upload's bar (shown, its values)
# and the status with the spinner beside it, at every change.
WATCH = """
window.seenLook = {barShown: false, values: [], states: []};
const note = () => {
  const s = window.seenLook, bar = document.getElementById('upload-bar');
  if (!document.getElementById('upload-progress').hidden) s.barShown = true;
  s.values.push(Number(bar.value) / Number(bar.max));
  const status = document.getElementById('status').textContent;
  const spinner = document.getElementById('working');
  s.states.push([status, !spinner.hidden && getComputedStyle(spinner).display !== 'none']);
};
new MutationObserver(note).observe(document.body, {subtree: true, attributes: true, childList: true,
                                                   characterData: true});
"""


def _email() -> str:
    return f"{uuid.uuid4().hex[:8]}@example.com"


def _images_have_alt(driver: Any) -> None:
    images = driver.find_elements(By.TAG_NAME, "img")
    missing = [i.get_attribute("src") for i in images if not (i.get_attribute("alt") or "").strip()]
    assert not missing, f"images without alt text on {driver.current_url}: {missing}"


def _fits_a_phone(driver: Any) -> None:
    with phone_width(driver):
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{driver.current_url} scrolls sideways on a phone ({width} px wide)"


def _visible_focus(driver: Any) -> dict[str, str]:
    return driver.execute_script("""
        const el = document.activeElement, style = getComputedStyle(el);
        return {tag: el.tagName, text: el.textContent.trim(), outline: style.outlineStyle,
                width: style.outlineWidth, shadow: style.boxShadow};""")


def _shows_focus(focus: dict[str, str]) -> bool:
    return (focus["outline"] != "none" and focus["width"] not in ("0px", "")) or focus["shadow"] != "none"


def test_the_upload_shows_a_real_progress_bar_then_a_spinner_then_the_thumbnail_linked_to_the_full_photo(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    driver = browser()
    driver.get(site.url)
    screenshot(driver, "upload")
    screenshot(driver, "upload", phone=True)
    _images_have_alt(driver)
    _fits_a_phone(driver)

    # Keyboard focus is visible: Tab from the phone field reaches the Upload button, and it shows.
    driver.find_element(By.NAME, "phone").click()
    driver.find_element(By.NAME, "phone").send_keys(Keys.TAB)
    focus = _visible_focus(driver)
    assert focus["tag"] == "BUTTON" and focus["text"] == "Upload", focus
    assert _shows_focus(focus), focus
    screenshot(driver, "upload-focus")

    # A slow line (about 60 KB/s up), so the bar can be seen moving.
    driver.set_network_conditions(offline=False, latency=5, download_throughput=10 * 1024 * 1024,
                                  upload_throughput=60 * 1024)
    driver.execute_script(WATCH)
    driver.find_element(By.NAME, "file").send_keys(str(faces_dir / "obama_2.jpg"))  # 180 KB
    driver.find_element(By.NAME, "email").send_keys(_email())
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    _until(driver, lambda d: 0 < d.execute_script("const b = document.getElementById('upload-bar');"
                                                  "return b.value / b.max") < 1, timeout=20,
           what="the bar partly filled")
    assert driver.find_element(By.ID, "upload-bar").is_displayed()
    screenshot(driver, "upload-progress")
    driver.delete_network_conditions()
    try:  # the spinner beside the status while it is queued or processing (a second or two: seen if caught)
        _until(driver, lambda d: d.find_element(By.ID, "working").is_displayed(), timeout=10, what="the spinner")
        screenshot(driver, "upload-processing")
    except TimeoutException:
        pass

    _until(driver, lambda d: _text(d, "status") == "processed", what="processed")
    seen = driver.execute_script("return window.seenLook")
    assert seen["barShown"] and max(seen["values"]) == 1, seen["values"]  # the bar was shown, and filled
    assert driver.find_element(By.ID, "upload-bar").get_attribute("data-max-seen") == "true"
    assert not driver.find_element(By.ID, "upload-progress").is_displayed()  # gone once the upload is in
    pending = [spinning for status, spinning in seen["states"] if status in ("queued", "processing")]
    assert pending and all(pending), seen["states"]  # the spinner, while queued or processing
    assert not driver.find_element(By.ID, "working").is_displayed()  # and not once processed
    assert _text(driver, "faces") == "1 face found."

    # The thumbnail is shown, and links to the full photo (one click away).
    photo_id = driver.find_element(By.ID, "photo-page").get_attribute("href").rsplit("/", 1)[1]
    photo = requests.get(f"{site.url}/api/photos/{photo_id}", timeout=10).json()
    thumb = driver.find_element(By.CSS_SELECTOR, "#images img[alt=thumbnail]")
    assert urlsplit(thumb.get_attribute("src")).path == urlsplit(photo["thumbnail_url"]).path
    link = thumb.find_element(By.XPATH, "./ancestor::a")
    assert urlsplit(link.get_attribute("href")).path == urlsplit(photo["original_url"]).path
    assert driver.find_element(By.ID, "faces-view")  # where faces.js draws the faces, when it is there
    _until(driver, lambda d: d.execute_script("return arguments[0].naturalWidth", thumb) > 0, what="the thumbnail")
    _images_have_alt(driver)
    screenshot(driver, "upload-processed")
    screenshot(driver, "upload-processed", phone=True)
    _fits_a_phone(driver)

    # The photo's page, one click away.
    driver.find_element(By.ID, "photo-page").click()
    _until(driver, lambda d: d.current_url == f"{site.url}/photos/{photo_id}", what="the photo page")
    _images_have_alt(driver)
    screenshot(driver, "photo-page")
    screenshot(driver, "photo-page", phone=True)


def test_the_gallery_is_a_grid_of_thumbnails_with_local_dates_that_opens_the_photo(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    driver, email = browser(), _email()
    ids = [upload_through_the_page(driver, site, faces_dir / name, email)
           for name in ("group_kit_and_rose.jpg", "biden_1.jpg", "rose_leslie_1.jpg")]
    driver.get(f"{site.url}/gallery")
    grid = driver.find_element(By.ID, "photos")
    assert grid.value_of_css_property("display") == "grid"
    cards = driver.find_elements(By.CSS_SELECTOR, "#photos article")
    assert [c.get_attribute("id") for c in cards] == [f"photo-{i}" for i in reversed(ids)]
    assert {c.get_attribute("data-status") for c in cards} == {"processed"}
    tops = {c.rect["y"] for c in cards}
    assert len(tops) == 1, "three cards side by side on a desktop"

    for card, photo_id in zip(cards, reversed(ids), strict=True):
        photo = requests.get(f"{site.url}/api/photos/{photo_id}", timeout=10).json()
        images = card.find_elements(By.TAG_NAME, "img")
        assert len(images) == 1  # the thumbnail, not the full photo
        assert urlsplit(images[0].get_attribute("src")).path == urlsplit(photo["thumbnail_url"]).path
        alt = images[0].get_attribute("alt")
        assert alt.startswith(photo["filename"]), alt
        _until(driver, lambda d, img=images[0]: d.execute_script("return arguments[0].naturalWidth", img) > 0,
               what="the thumbnail")

        # The date, in the reader's own format, with the full date on hover.
        when = card.find_element(By.CSS_SELECTOR, "time[datetime]")
        iso = when.get_attribute("datetime")
        assert iso.startswith(photo["created_at"][:19])
        assert when.text and "UTC" not in when.text and not re.match(r"\d{4}-\d\d-\d\d", when.text), when.text
        assert when.get_attribute("title")

    _images_have_alt(driver)
    screenshot(driver, "gallery")
    screenshot(driver, "gallery", phone=True)
    _fits_a_phone(driver)

    # The focus is visible on a card, reached with the keyboard.
    for _ in range(12):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script("return document.activeElement.closest('#photos article') !== null"):
            break
    focus = _visible_focus(driver)
    assert focus["tag"] == "A" and _shows_focus(focus), focus
    screenshot(driver, "gallery-focus")

    # A click on a card opens the photo's page.
    driver.find_element(By.CSS_SELECTOR, f"#photo-{ids[1]} img").click()
    _until(driver, lambda d: d.current_url == f"{site.url}/photos/{ids[1]}", what="the photo page")
    assert _text(driver, "status") == "processed" and driver.find_elements(By.TAG_NAME, "img")
    _images_have_alt(driver)


def _batch_link(site: Running, photo_ids: list[str]) -> str:
    """A batch's page link, its item written in the stand-in's settings table as the notifier writes it
    (photolane_common.batch_links): this stack sends one message a photo, so no batch makes one."""
    import json
    import time

    import boto3

    from photolane.standin import STANDIN_ENV
    from photolane_common.batch_links import PREFIX, new_code

    dynamodb = boto3.client("dynamodb", endpoint_url=site.aws_url, region_name=STANDIN_ENV["AWS_REGION"],
                            aws_access_key_id=STANDIN_ENV["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=STANDIN_ENV["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=STANDIN_ENV["AWS_SESSION_TOKEN"])
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("settings"))
    code = new_code()
    dynamodb.put_item(TableName=table, Item={"key": {"S": PREFIX + code},
                                             "value": {"S": json.dumps({"photos": photo_ids})},
                                             "expires_at": {"N": str(int(time.time()) + 3600)}})
    return f"{site.url}/batches/{code}"


def test_a_batchs_page_is_the_gallerys_grid_for_whoever_holds_its_link(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    from ..e2e.conftest import finished

    names = {"group_kit_and_rose.jpg": "IMG_20260501_174502_a-long-name-from-a-phone-camera.jpg",
             "biden_1.jpg": "biden.jpg", "rose_leslie_1.jpg": "rose.jpg"}
    ids, email = [], _email()
    for source, name in names.items():
        sent = requests.post(f"{site.url}/api/photos", timeout=30, data={"email": email},
                             files={"file": (name, (faces_dir / source).read_bytes())})
        ids.append(sent.json()["id"])
        assert finished(site, ids[-1])["status"] == "processed"
    link = _batch_link(site, ids)

    driver = browser()  # no session: the link alone opens the page
    driver.get(link)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Your photos"
    assert driver.find_element(By.ID, "photos").value_of_css_property("display") == "grid"
    cards = driver.find_elements(By.CSS_SELECTOR, "#photos article")
    assert [c.get_attribute("id") for c in cards] == [f"photo-{i}" for i in reversed(ids)]
    for card in cards:
        image = card.find_element(By.TAG_NAME, "img")
        _until(driver, lambda d, img=image: d.execute_script("return arguments[0].naturalWidth", img) > 0,
               what="the thumbnail")
    when = cards[0].find_element(By.CSS_SELECTOR, "time[datetime]")
    assert when.text and "UTC" not in when.text  # in the reader's own format (dates.js)
    _images_have_alt(driver)
    screenshot(driver, "batch-page")
    screenshot(driver, "batch-page", phone=True)
    _fits_a_phone(driver)

    cards[1].find_element(By.TAG_NAME, "img").click()
    _until(driver, lambda d: d.current_url == f"{site.url}/photos/{ids[1]}", what="the photo page")

    driver.get(f"{site.url}/batches/{'x' * 16}")
    assert driver.find_element(By.TAG_NAME, "h1").text == "This link does not work"
    screenshot(driver, "batch-page-unknown", phone=True)


def test_an_old_or_unknown_link_explains_itself(site: Running, browser: Any, screenshot: Any) -> None:
    answer = requests.get(f"{site.url}/photos/no-such-photo", timeout=10)
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html")
    assert "Photo not found" in answer.text
    api = requests.get(f"{site.url}/api/photos/no-such-photo", timeout=10)
    assert api.status_code == 404 and "error" in api.json()

    driver = browser()
    driver.get(f"{site.url}/photos/no-such-photo")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Photo not found"
    assert driver.find_element(By.CSS_SELECTOR, ".site-header a.home").is_displayed()  # the site's own header
    assert "old or mistyped" in driver.find_element(By.TAG_NAME, "main").text
    assert driver.find_element(By.CSS_SELECTOR, "main a[href='/gallery']").is_displayed()
    _images_have_alt(driver)
    screenshot(driver, "not-found-photo")
    screenshot(driver, "not-found-photo", phone=True)
    _fits_a_phone(driver)

    driver.get(f"{site.url}/no/such/page")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    screenshot(driver, "not-found-page")

    driver.get(f"{site.url}/signin")
    _images_have_alt(driver)
    screenshot(driver, "signin")
    screenshot(driver, "signin", phone=True)
    _fits_a_phone(driver)


def test_the_pages_with_tables_fit_a_phone(site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    """A phone never scrolls a page sideways: its tables become lists (``screenshot(phone=True)`` checks)."""
    from photolane.testing import wait_for

    from ..e2e.conftest import finished
    from .test_faces import _admin

    sent = requests.post(f"{site.url}/api/photos", timeout=30,
                         files={"file": ("a-rather-long-file-name-from-a-phone-camera.jpg",
                                         (faces_dir / "biden_1.jpg").read_bytes())},
                         data={"email": f"someone.with.a.long.address.{_email()}", "phone": "+14155552671"})
    photo_id = sent.json()["id"]
    assert finished(site, photo_id)["status"] == "processed"

    def notified(d: Any) -> bool:
        photo = requests.get(f"{site.url}/api/photos/{photo_id}", timeout=10).json()
        return len([n for n in photo["notifications"] if n["status"] == "sent"]) == 2

    wait_for(lambda: notified(None), 60, "both notifications")
    driver = browser()
    _admin(driver, site)
    driver.get(f"{site.url}/photos/{photo_id}")
    assert driver.find_element(By.CSS_SELECTOR, "#notifications time").get_attribute("datetime")
    screenshot(driver, "photo-page-notifications", phone=True)
    driver.get(f"{site.url}/admin")
    screenshot(driver, "admin-page", phone=True)
    driver.get(f"{site.url}/api/docs")
    screenshot(driver, "api-docs", phone=True)
