"""Deleting in a real browser (headless chromium) against the real stack: the photo page's Delete and a
gallery card's, each confirmed by a ticked box (no script: the browser itself refuses the form while
the box is not ticked); the photo is gone from the gallery at once, its page says it was deleted, and
the processor erases it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By

from photolane.testing import wait_for

from ..e2e.conftest import Running
from .test_web import _until, upload_through_the_page

pytestmark = pytest.mark.e2e


def _gallery_ids(driver: Any, site: Running) -> list[str]:
    driver.get(f"{site.url}/gallery")
    return [card.get_attribute("id").removeprefix("photo-")
            for card in driver.find_elements(By.CSS_SELECTOR, "#photos article")]


def _erased(site: Running, photo_id: str) -> None:
    """Gone from the API at once, then its page says so; the erasure is the processor's (a few seconds)."""
    assert requests.get(f"{site.url}/api/photos/{photo_id}", timeout=10).status_code == 404
    export = lambda: requests.get(f"{site.url}/api/admin/export", timeout=30,  # noqa: E731
                                  headers={"Authorization": f"Bearer {site.admin_token}"}).json()["photos"]
    wait_for(lambda: photo_id not in {p["id"] for p in export()}, 60, f"photo {photo_id} erased")


def test_the_owner_deletes_from_the_photo_page_and_from_a_gallery_card(site: Running, browser: Any,
                                                                      faces_dir: Path, screenshot: Any) -> None:
    driver, email = browser(), f"{uuid.uuid4().hex[:8]}@example.com"
    first = upload_through_the_page(driver, site, faces_dir / "obama_1.jpg", email)
    second = upload_through_the_page(driver, site, faces_dir / "biden_1.jpg", email)
    assert sorted(_gallery_ids(driver, site)) == sorted([first, second])

    # The photo page: Delete without the box ticked does nothing (the browser refuses the form).
    driver.get(f"{site.url}/photos/{first}")
    form = driver.find_element(By.ID, "delete-photo")
    screenshot(driver, "photo-delete")
    driver.find_element(By.ID, "delete-button").click()
    assert driver.current_url == f"{site.url}/photos/{first}"
    assert driver.execute_script("return document.getElementById('delete-confirm').validity.valueMissing")
    assert requests.get(f"{site.url}/api/photos/{first}", timeout=10).status_code == 200
    form.find_element(By.ID, "delete-confirm").click()
    driver.find_element(By.ID, "delete-button").click()
    _until(driver, lambda d: d.current_url == f"{site.url}/gallery", what="the gallery after the deletion")
    assert "is deleted" in driver.page_source
    assert [c.get_attribute("id") for c in driver.find_elements(By.CSS_SELECTOR, "#photos article")] == \
        [f"photo-{second}"]
    _erased(site, first)
    driver.get(f"{site.url}/photos/{first}")
    assert "Photo deleted" in driver.page_source or "Photo not found" in driver.page_source

    # A gallery card: "Delete…" opens the box and the button.
    driver.get(f"{site.url}/gallery")
    card = driver.find_element(By.ID, f"photo-{second}")
    card.find_element(By.CSS_SELECTOR, ".delete-card summary").click()
    screenshot(driver, "gallery-delete")
    card.find_element(By.CSS_SELECTOR, ".delete-card input[name=confirm]").click()
    card.find_element(By.CSS_SELECTOR, ".delete-card button").click()
    _until(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, "#photos article"), what="an empty gallery")
    _erased(site, second)


def test_nobody_else_is_offered_delete(site: Running, browser: Any, faces_dir: Path) -> None:
    owner = browser()
    photo_id = upload_through_the_page(owner, site, faces_dir / "kit_harington_1.jpg", "kit@example.com")
    stranger = browser()
    stranger.get(f"{site.url}/photos/{photo_id}")
    assert stranger.find_elements(By.ID, "status") and not stranger.find_elements(By.ID, "delete-photo")
    assert requests.delete(f"{site.url}/api/photos/{photo_id}", timeout=10).status_code == 403
