"""The local inbox in a real browser: from the sign-in page's note to /dev/inbox, its messages with local
times, and a click on the sign-in link that opens the gallery. Saved as screenshots (desktop, phone)."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By

from ..e2e.conftest import Running, finished, upload
from .test_web import _text, _until

pytestmark = pytest.mark.e2e


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_the_inbox_shows_the_messages_sent_and_its_signin_link_opens_the_gallery(
        site: Running, browser: Any, screenshot: Any) -> None:
    driver = browser()
    driver.get(f"{site.url}/dev/inbox")  # a stack of this module's own: nothing sent yet
    assert "Nothing sent yet" in _text(driver, "inbox-empty")
    screenshot(driver, "inbox-empty")

    email = f"{uuid.uuid4().hex[:8]}@example.com"
    sent = upload(site, _jpeg(), name="beach.jpg", email=email, phone="+14155552671")
    assert sent.status_code == 202, sent.text
    photo_id = sent.json()["id"]
    assert finished(site, photo_id)["status"] == "processed"

    driver.get(f"{site.url}/signin")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "form.stack button").click()
    _until(driver, lambda d: "sign-in link is on its way" in _text(d, "signin-sent"), what="the neutral answer")
    note = driver.find_element(By.CSS_SELECTOR, "#dev-inbox-note a")
    assert note.text == "/dev/inbox"
    screenshot(driver, "inbox-signin-note")
    # Asked again within the minute: the page says so, points to the inbox, and says when, in local time.
    driver.find_element(By.NAME, "email").send_keys(email.upper())
    driver.find_element(By.CSS_SELECTOR, "form.stack button").click()
    again = _until(driver, lambda d: d.find_element(By.ID, "signin-asked-again"), what="the asked-again answer")
    assert "less than a minute ago" in again.text and "check your inbox (and spam)" in again.text
    assert again.find_element(By.CSS_SELECTOR, "a").get_attribute("href") == f"{site.url}/dev/inbox"
    when = again.find_element(By.CSS_SELECTOR, "time")
    assert when.get_attribute("data-localized") == "true" and re.fullmatch(r"\d{1,2}:\d\d( ?[AP]M)?", when.text)
    screenshot(driver, "inbox-signin-asked-again", phone=True)
    note = driver.find_element(By.CSS_SELECTOR, "#dev-inbox-note a")
    note.click()
    _until(driver, lambda d: d.current_url == f"{site.url}/dev/inbox", what="the inbox")

    def signin_card() -> Any:
        driver.refresh()
        cards = [c for c in driver.find_elements(By.CSS_SELECTOR, "#inbox li[data-signin]") if email in c.text]
        return cards[0] if cards else None

    card = _until(driver, lambda d: signin_card(), what="the sign-in email in the inbox")
    assert "This page exists only in local mode" in _text(driver, "local-only")
    channels = [c.get_attribute("data-channel") for c in driver.find_elements(By.CSS_SELECTOR, "#inbox > li")
                if email in c.text or "+14155552671" in c.text]
    assert channels[0] == "email" and set(channels) == {"email", "sms"}  # newest first: the link, then the photo's
    when = card.find_element(By.CSS_SELECTOR, "time[datetime]")
    assert when.text and "UTC" not in when.text and when.get_attribute("title"), when.text  # dates.js: local time
    link = card.find_element(By.CSS_SELECTOR, "a.signin-link")
    assert link.text == "Open your gallery"
    assert re.fullmatch(rf"{re.escape(site.url)}/signin/open#[A-Za-z0-9_.\-]+", link.get_attribute("href"))
    screenshot(driver, "inbox")
    screenshot(driver, "inbox", phone=True)

    link.click()  # the link's page posts the token from the fragment, then the gallery
    _until(driver, lambda d: d.current_url == f"{site.url}/gallery", what="the gallery")
    assert driver.find_elements(By.ID, f"photo-{photo_id}")
    screenshot(driver, "inbox-opened-gallery")
    assert requests.get(f"{site.url}/dev/inbox", timeout=10).status_code == 200
