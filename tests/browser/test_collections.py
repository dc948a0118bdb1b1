"""Collections in a real browser against the real stack: the admin makes a collection and an upload link,
a teacher opens the link on a phone and uploads a photo straight into the collection, whose own person is
named in it; the link is revoked. Every page visited is saved as a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from selenium.webdriver.common.by import By

from photolane.testing import wait_for

from ..e2e.conftest import Running
from .conftest import phone_width
from .test_faces import _token
from .test_look import _fits_a_phone, _images_have_alt
from .test_web import _admin, _text, _until

pytestmark = pytest.mark.e2e


def test_a_teacher_uploads_through_a_link_into_the_class_whose_people_name_the_photo(
        site: Running, browser: Any, faces_dir: Path, screenshot: Any) -> None:
    driver = browser()
    _admin(driver, site)
    driver.get(f"{site.url}/admin/collections")
    screenshot(driver, "collections-empty")
    driver.find_element(By.NAME, "id").send_keys("class-7b")
    driver.find_element(By.NAME, "name").send_keys("Class 7B")
    driver.find_element(By.NAME, "attributes").send_keys("school: Hill School\nyear: 2026")
    driver.find_element(By.CSS_SELECTOR, "#make-collection button").click()
    _until(driver, lambda d: d.find_elements(By.ID, "collection-class-7b"), what="the collection's card")
    enrolled = requests.post(f"{site.url}/api/people", headers=_token(site), timeout=30,
                             data={"name": "Kit Harington", "collection": "class-7b"},
                             files={"photo": ("kit.jpg", (faces_dir / "kit_harington_1.jpg").read_bytes())})
    assert enrolled.status_code == 202, enrolled.text
    person = f"{site.url}/api/people/{enrolled.json()['id']}"
    wait_for(lambda: requests.get(person, headers=_token(site), timeout=10).json()["status"] == "enrolled",
             what="Kit enrolled in the class")

    card = driver.find_element(By.ID, "collection-class-7b")
    card.find_element(By.NAME, "label").send_keys("Ms Patel")
    card.find_element(By.NAME, "days").send_keys("30")
    card.find_element(By.CSS_SELECTOR, ".make-link button").click()
    _until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#link-made input.copy"), what="the new link")
    link = driver.find_element(By.CSS_SELECTOR, "#link-made input.copy").get_attribute("value")
    assert "/u/" in link and "Ms Patel" in _text(driver, "collection-class-7b")
    screenshot(driver, "collections-link-made")
    screenshot(driver, "collections-link-made", phone=True)
    _fits_a_phone(driver)

    # The teacher, on a phone, with no account: the link's page, a photo, the names of the class.
    teacher = browser()
    with phone_width(teacher):
        teacher.get(link)
        assert "Upload a photo to Class 7B" in _text(teacher, "main")
        screenshot(teacher, "link-upload")
        teacher.find_element(By.NAME, "file").send_keys(str(faces_dir / "group_kit_and_rose.jpg"))
        teacher.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
        _until(teacher, lambda d: _text(d, "status") == "processed", what="processed")
        screenshot(teacher, "link-upload-processed")
        width = teacher.execute_script("return document.documentElement.scrollWidth")
        assert width <= 391, f"the link's page scrolls sideways on a phone ({width} px)"
        teacher.find_element(By.ID, "photo-page").click()
        _until(teacher, lambda d: "In Class 7B" in _text(d, "main"), what="the photo page")
        _until(teacher, lambda d: "Kit Harington" in _text(d, "main"), what="Kit named (the class's own person)")
        _images_have_alt(teacher)
        screenshot(teacher, "link-photo-page")
        again = teacher.find_element(By.ID, "upload-again").get_attribute("href")
        assert again.endswith(urlparse(link).path), "Upload another photo goes back to the teacher's link"

    # Revoked: the link says so.
    driver.get(f"{site.url}/admin/collections")
    driver.find_element(By.CSS_SELECTOR, "#collection-class-7b .revoke").click()
    _until(driver, lambda d: "revoked" in _text(d, "main"), what="revoked")
    teacher.get(link)
    assert "This upload link does not work" in _text(teacher, "main")
    screenshot(teacher, "link-revoked")
