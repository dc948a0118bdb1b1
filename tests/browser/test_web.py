"""The pages in a real browser (headless chromium), against the real stack: upload, gallery,
sign-in link, admin page (block/unblock, dead letters, purge)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from photolane.testing import wait_for

from ..e2e.conftest import Running, finished

pytestmark = pytest.mark.e2e


def _email() -> str:
    return f"{uuid.uuid4().hex[:8]}@example.com"


def _until(driver: Any, check: Any, timeout: float = 60, what: str = "the page") -> Any:
    # A click that submits a form replaces the page while the check reads it: an element gone stale,
    # or not there yet, means "not yet", not a failure.
    wait = WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
    return wait.until(check, f"timed out waiting for {what}")


def _text(driver: Any, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def upload_through_the_page(driver: Any, site: Running, photo: Path, email: str = "") -> str:
    """Fill the form, send it, and wait until the page shows the photo processed; returns its id."""
    driver.get(site.url)
    driver.find_element(By.NAME, "file").send_keys(str(photo))
    driver.find_element(By.NAME, "email").clear()
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    _until(driver, lambda d: _text(d, "status") == "processed", what="the status to turn processed")
    return driver.find_element(By.ID, "photo-page").get_attribute("href").rsplit("/", 1)[1]


def _sqs(site: Running) -> Any:
    return boto3.client("sqs", endpoint_url=site.standin.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _admin(driver: Any, site: Running) -> None:
    driver.get(f"{site.url}/admin")
    driver.find_element(By.NAME, "token").send_keys(site.admin_token)
    driver.find_element(By.ID, "admin-login").click()
    _until(driver, lambda d: d.find_elements(By.ID, "uploads-state"), what="the admin page")


def _dead_letters(driver: Any, queue: str) -> int:
    return int(driver.find_element(By.CSS_SELECTOR, f"#queue-{queue} .dead").text)


def test_upload_through_the_form_shows_progress_live_then_the_images_and_names(
        site: Running, browser: Any, faces_dir: Path) -> None:
    token = {"Authorization": f"Bearer {site.admin_token}"}
    with open(faces_dir / "obama_1.jpg", "rb") as face:
        person = requests.post(f"{site.url}/api/people", headers=token, data={"name": "Barack Obama"},
                               files={"photo": ("obama.jpg", face)}, timeout=30).json()
    wait_for(lambda: requests.get(f"{site.url}/api/people/{person['id']}", headers=token, timeout=10)
             .json()["status"] == "enrolled", what="the enrollment")

    driver = browser()
    driver.get(site.url)
    driver.execute_script("window.samePage = true")  # gone if the page reloaded
    seen = set()
    driver.find_element(By.NAME, "file").send_keys(str(faces_dir / "obama_2.jpg"))
    driver.find_element(By.NAME, "email").send_keys(_email())
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()

    def processed(d: Any) -> bool:
        seen.add(_text(d, "status"))
        return "processed" in seen

    _until(driver, processed, what="processed")
    assert seen <= {"", "queued", "processing", "processed"}
    assert driver.execute_script("return window.samePage") is True
    assert _text(driver, "people") == "In this photo: Barack Obama"
    assert _text(driver, "faces") == "1 face found."
    images = {img.get_attribute("alt"): img for img in driver.find_elements(By.CSS_SELECTOR, "#images img")}
    assert set(images) == {"thumbnail", "flipped"}
    _until(driver, lambda d: all(d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images.values()),
           what="the images to load")

    refused = browser()
    refused.get(site.url)
    bad = faces_dir.parent / "faces" / "README.md"  # not an image
    refused.find_element(By.NAME, "file").send_keys(str(bad))
    refused.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    _until(refused, lambda d: d.find_element(By.ID, "upload-error").is_displayed(), what="the refusal")
    assert "not a readable image" in _text(refused, "upload-error")


def test_each_browser_sees_only_its_own_gallery_and_a_signin_link_opens_it_elsewhere(
        site: Running, browser: Any, faces_dir: Path) -> None:
    alice_email, bob_email = _email(), _email()
    alice, bob = browser(), browser()
    alices = upload_through_the_page(alice, site, faces_dir / "biden_1.jpg", alice_email)
    bobs = upload_through_the_page(bob, site, faces_dir / "rose_leslie_1.jpg", bob_email)

    def gallery(driver: Any) -> list[str]:
        driver.get(f"{site.url}/gallery")
        return [a.get_attribute("id").removeprefix("photo-") for a in driver.find_elements(By.TAG_NAME, "article")]

    assert gallery(alice) == [alices] and gallery(bob) == [bobs]
    thumbnails = alice.find_elements(By.CSS_SELECTOR, "#photos article img")  # a card: the thumbnail
    assert len(thumbnails) == 1 and thumbnails[0].get_attribute("alt").startswith("biden_1.jpg")
    assert "thumb" in thumbnails[0].get_attribute("src")

    bob.get(f"{site.url}/gallery?email={alice_email}")
    assert "You can only see your own gallery" in bob.page_source and alices not in bob.page_source
    assert gallery(bob) == [bobs]

    # Alice, on another computer, asks for a sign-in link; it comes by email (read from the stand-in).
    laptop = browser()
    laptop.get(f"{site.url}/gallery")
    assert laptop.current_url.endswith("/signin")
    laptop.find_element(By.NAME, "email").send_keys(alice_email)
    laptop.find_element(By.CSS_SELECTOR, "form.stack button").click()
    _until(laptop, lambda d: "sign-in link is on its way" in _text(d, "signin-sent"), what="the neutral answer")

    def link() -> str | None:
        mail = [m for m in site.standin.emails() if alice_email in m["destinations"]["ToAddresses"]
                and m["subject"] == "Your photolane sign-in link"]
        found = re.search(r"http://127\.0\.0\.1:\d+/signin/open#[A-Za-z0-9_.\-]+", mail[0]["body"]) if mail else None
        return found.group(0) if found else None

    sent = wait_for(link, what="the sign-in email")
    laptop.get(sent)  # the page posts the token from the fragment
    _until(laptop, lambda d: d.current_url == f"{site.url}/gallery", what="the gallery")
    assert gallery(laptop) == [alices]
    thief = browser()
    thief.get(sent)  # the same link again: it worked once
    _until(thief, lambda d: "used already" in d.page_source, what="the refusal of a used link")
    tamperer = browser()
    tamperer.get(sent + "x")
    _until(tamperer, lambda d: "not valid" in d.page_source, what="the refusal of a tampered link")
    token = sent.split("#", 1)[1]
    logs = [site.log, site.run_dir / "standin.log", *(site.run_dir / "logs").glob("*.log")]
    assert not [path for path in logs if path.exists() and token in path.read_text(errors="replace")]

    alice.find_element(By.ID, "logout").click()
    _until(alice, lambda d: not d.find_elements(By.ID, "logout"), what="the log out")
    alice.get(f"{site.url}/gallery")
    assert alice.current_url.endswith("/signin")


def test_block_and_unblock_from_the_admin_page(site: Running, browser: Any, faces_dir: Path) -> None:
    admin, user = browser(), browser()
    _admin(admin, site)
    user.get(site.url)  # the page was open before the block
    admin.find_element(By.ID, "block").click()
    _until(admin, lambda d: "blocked" in _text(d, "uploads-state"), what="blocked")

    user.find_element(By.NAME, "file").send_keys(str(faces_dir / "kit_harington_1.jpg"))
    user.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    _until(user, lambda d: d.find_element(By.ID, "upload-error").is_displayed(), what="the refusal")
    assert "Uploads are blocked for now" in _text(user, "upload-error")
    user.get(site.url)
    assert "Uploads are blocked" in _text(user, "blocked")
    assert not user.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").is_enabled()

    admin.find_element(By.ID, "unblock").click()
    _until(admin, lambda d: "accepted" in _text(d, "uploads-state"), what="unblocked")
    upload_through_the_page(user, site, faces_dir / "kit_harington_1.jpg")


def test_dead_letters_redriven_and_purged_from_the_admin_page(site: Running, browser: Any, faces_dir: Path) -> None:
    sqs = _sqs(site)
    jobs = sqs.get_queue_url(QueueName="photolane-jobs")["QueueUrl"]
    dead = sqs.get_queue_url(QueueName="photolane-jobs-dlq")["QueueUrl"]
    admin = browser()
    _admin(admin, site)

    # An unparseable job: the processor dead-letters it at once; it can only be purged.
    sqs.send_message(QueueUrl=jobs, MessageBody="this is not a message")

    def dead_letters(count: int) -> bool:
        admin.get(f"{site.url}/admin")
        return _dead_letters(admin, "jobs") == count

    wait_for(lambda: dead_letters(1), what="the dead letter on the admin page")
    admin.find_element(By.CSS_SELECTOR, "#queue-jobs .purge-dlq").click()
    _until(admin, lambda d: d.find_elements(By.ID, "confirm-purge"), what="the confirmation step")
    assert "cannot be brought back" in admin.page_source
    admin.find_element(By.ID, "confirm-purge").click()
    _until(admin, lambda d: "jobs-dlq is purged." in d.page_source, what="the purge")
    assert _dead_letters(admin, "jobs") == 0

    # A job that failed three times while something was down: redriven, it is done this time.
    photo = requests.post(f"{site.url}/api/photos", files={"file": ("b.jpg", (faces_dir / "biden_2.jpg").read_bytes())},
                          timeout=30).json()
    finished(site, photo["id"])
    job = {"type": "photo.uploaded", "version": 1, "id": str(uuid.uuid4()), "sent_at": "2024-01-01T00:00:00Z",
           "data": {"photo_id": photo["id"], "original_key": f"originals/{photo['id']}.jpg"}}
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(job))
    wait_for(lambda: dead_letters(1), what="the dead letter on the admin page")
    admin.find_element(By.CSS_SELECTOR, "#queue-jobs .redrive").click()
    _until(admin, lambda d: "1 dead letter moved back to jobs." in d.page_source, what="the redrive")
    wait_for(lambda: dead_letters(0) and admin.find_element(By.CSS_SELECTOR, "#queue-jobs .waiting").text == "0"
             and admin.find_element(By.CSS_SELECTOR, "#queue-jobs .in-flight").text == "0",
             what="the redriven job to be taken")
    assert _dead_letters(admin, "jobs") == 0
