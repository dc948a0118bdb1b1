"""Browser tests: Debian's chromium, headless, driven by Selenium through Debian's chromedriver
(the same version, from the same package source; nothing is downloaded), against photolane started
the way `make run` starts it, with the gallery cache in a real memcached.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..e2e.conftest import Running, started

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, memcached_server: str) -> Iterator[Running]:
    # message.invalid: the dead-letter test sends an unparseable message on purpose.
    with started(tmp_path_factory, expected_errors=("message.failed", "message.invalid"),
                 PHOTOLANE_MEMCACHED=memcached_server) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[], object]]:
    """A factory of fresh browsers (each its own profile, so its own cookies); all quit after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            pytest.fail(f"{binary} is missing: run scripts/test-deps.sh (make test does)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download a driver
    drivers = []

    def open_browser() -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        profile = tmp_path / f"profile-{len(drivers)}"
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append((driver, profile))
        return driver

    yield open_browser
    for driver, profile in drivers:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
