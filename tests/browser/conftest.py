"""Browser tests: Debian's chromium, headless, driven by Selenium through Debian's chromedriver
(the same version, from the same package source; nothing is downloaded), against photolane started
the way `make run` starts it, with the gallery cache in a real memcached.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ..e2e.conftest import Running, started

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000")
DESKTOP = (1280, 1000)
PHONE = (390, 844)  # a phone's width in CSS pixels


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, memcached_server: str) -> Iterator[Running]:
    # message.invalid: the dead-letter test sends an unparseable message on purpose.
    with started(tmp_path_factory, expected_errors=("message.failed", "message.invalid"),
                 PHOTOLANE_MEMCACHED=memcached_server) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """A factory of fresh browsers (each its own profile, so its own cookies); all quit after the test.
    ``browser(network_log=True)`` also records the network events (``driver.get_log("performance")``).

    Every page of photolane a browser shows (each ``get``, and the page it was on before each ``get``
    and at the end: pages reached by clicks) is checked at a phone's width after the test, with the
    same browser, once per route in the session: it must not scroll sideways (``phone_pages_fit``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            pytest.fail(f"{binary} is missing: run scripts/test-deps.sh (make test does)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download a driver
    drivers = []

    def open_browser(*, network_log: bool = False) -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        if network_log:  # DevTools' network events, for driver.get_log("performance"): the statuses answered
            options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        profile = tmp_path / f"profile-{len(drivers)}"
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append((driver, profile))
        _record_pages(driver)
        return driver

    yield open_browser
    try:
        sites = [_origin(v.url) for v in request.node.funcargs.values() if isinstance(v, Running)]
        for driver, _ in drivers:
            phone_pages_fit(driver, sites)
    finally:
        for driver, profile in drivers:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


# -- every page visited, at a phone's width --------------------------------------------------------

PHONE_CHECKED: set[str] = set()  # the routes (and error statuses) checked at a phone's width this session
NOT_PAGES = re.compile(r"^/(api/(?!docs$)|admin/export|favicon|static/|healthz)")  # JSON, downloads, files
AN_ID = re.compile(r"^(?=.*\d)[\w-]{8,}$|^[\w-]{20,}$")  # a uuid, a code, a token: one route whatever its value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def route_of(url: str) -> str:
    """The route a URL shows, ids normalised (/photos/<a> and /photos/<b> are one route)."""
    path = urlsplit(url).path.rstrip("/") or "/"
    return "/".join("<id>" if AN_ID.match(part) else part for part in path.split("/"))


def _record_pages(driver: Any) -> None:
    """``driver.get`` records the page it leaves (reached by clicks, perhaps) and the page it lands on
    (after redirects) in ``driver.pages_seen``."""
    real_get, driver.pages_seen = driver.get, []

    def get(url: str) -> None:
        _note_page(driver)
        real_get(url)
        _note_page(driver)

    driver.get = get


def _note_page(driver: Any) -> None:
    try:
        url = driver.current_url
    except Exception:  # noqa: BLE001 - an alert open, or the browser quit by the test: nothing to note
        return
    if url.startswith("http") and url.split("#")[0] not in driver.pages_seen:
        driver.pages_seen.append(url.split("#")[0])  # a fragment may hold a sign-in token: never reopened


PAGE_STATUS = "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0;"


def phone_pages_fit(driver: Any, sites: list[str]) -> None:
    """The pages of ``sites`` this driver showed, each route not yet checked this session, opened again at
    a phone's width (the same cookies, so the same page): none scrolls sideways."""
    _note_page(driver)
    pages = [u for u in driver.pages_seen if _origin(u) in sites and not NOT_PAGES.match(urlsplit(u).path)
             and route_of(u) not in PHONE_CHECKED]
    if not pages:
        return
    try:
        driver.switch_to.alert.dismiss()
    except Exception:  # noqa: BLE001 - no alert open: the usual case
        pass
    driver.set_window_size(*PHONE)
    for url in pages:
        if route_of(url) in PHONE_CHECKED:
            continue
        driver.get(url)
        _settle(driver, PHONE[0])
        status = driver.execute_script(PAGE_STATUS)
        # A route first seen as an error (a photo deleted by the test) is checked again when seen working.
        key = route_of(url) if status in (200, 0) else f"error {status}"
        if key in PHONE_CHECKED:
            continue
        PHONE_CHECKED.add(key)
        no_sideways_scroll(driver, f"{urlsplit(url).path} (route {route_of(url)}, status {status})")


@contextmanager
def phone_width(driver: Any) -> Iterator[None]:
    """The window at a phone's size for the block (the page reflows), then back to the desktop size."""
    driver.set_window_size(*PHONE)
    try:
        _settle(driver, PHONE[0])
        yield
    finally:
        driver.set_window_size(*DESKTOP)
        time.sleep(0.2)


WIDEST = """
const limit = document.documentElement.clientWidth;
const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > limit + 1
    && getComputedStyle(e).position !== 'fixed' && !e.closest('.table-wrap, pre'));
return [document.documentElement.scrollWidth - limit,
        wide.slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
                             Math.round(e.getBoundingClientRect().right))];
"""


def no_sideways_scroll(driver: Any, name: str) -> None:
    """At a phone's width the page never scrolls sideways (a wide table scrolls in its own box)."""
    over, widest = driver.execute_script(WIDEST)
    assert over <= 1, f"{name} scrolls sideways by {over} px at {PHONE[0]} px: {widest}"


def _settle(driver: Any, width: int) -> None:
    for _ in range(25):  # the resize is asynchronous: wait until the page has reflowed to the new width
        if abs(driver.execute_script("return document.documentElement.clientWidth") - width) <= 20:
            break
        time.sleep(0.1)
    time.sleep(0.2)


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[..., Path]:
    """``screenshot(driver, name, phone=False) -> Path``: the page as the browser shows it, saved in the
    test's tmp folder (and copied into $PHOTOLANE_SCREENSHOTS, when set, for people to look at). The
    picture must not be blank: more than one colour, and some spread in its grey levels."""
    from PIL import Image, ImageStat

    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)

    def take(driver: Any, name: str, *, phone: bool = False) -> Path:
        if phone:
            with phone_width(driver):
                no_sideways_scroll(driver, name)
                return take(driver, f"{name}-phone")
        path = folder / f"{name}.png"
        width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
        chrome = driver.execute_script("return window.outerHeight - window.innerHeight") or 0
        page = driver.execute_script("return document.documentElement.scrollHeight")
        full = min(max(height, page + chrome), 3000)  # the whole page, as someone scrolling would see it
        if full != height:
            driver.set_window_size(width, full)
            time.sleep(0.3)
        try:
            assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
        finally:
            if full != height:
                driver.set_window_size(width, height)
                time.sleep(0.2)
        assert path.exists() and path.stat().st_size > 0, path
        with Image.open(path) as image:
            grey = image.convert("L")
            assert grey.getcolors(maxcolors=2) is None or len(grey.getcolors(maxcolors=2)) > 1, f"{name} is one colour"
            assert ImageStat.Stat(grey).stddev[0] > 5, f"{name} looks blank"
        if os.environ.get("PHOTOLANE_SCREENSHOTS"):
            copies = Path(os.environ["PHOTOLANE_SCREENSHOTS"])
            copies.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, copies / path.name)
        return path

    return take
