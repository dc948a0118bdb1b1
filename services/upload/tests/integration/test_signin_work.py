"""POST /signin does the same work whether or not the email has photos (finding A: the answer took 62 ms
for an email with photos and 39 ms for one without, which told who has photos).

Every AWS call the route makes is recorded (botocore's one entry point, for boto3's clients and
pynamodb's alike), and the sequences for both kinds of email must be identical: the same operations on
the same tables and queues, and no read of the photos at all (the notifier decides).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.client import BaseClient
from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_upload import web
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

from ..conftest import SESSION_KEY, form_token, form_upload

Call = tuple[str, str, str | None, str | None]


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    calls: list[Call] = []
    real = BaseClient._make_api_call
    route = threading.get_ident()  # the test client runs the route here; a metrics sink left running by
    # an earlier test of the session writes its counters from a thread of its own: not the route's work

    def recorded(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if threading.get_ident() == route:
            calls.append((self.meta.service_model.service_name, operation,
                          params.get("TableName") or params.get("QueueUrl"), params.get("IndexName")))
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return calls


def _signin_work(app: Flask, email: str, calls: list[Call]) -> list[Call]:
    client = app.test_client()
    token = form_token(client, "/signin")
    calls.clear()
    answer = client.post("/signin", data={"email": email, "csrf_token": token})
    assert answer.status_code == 200 and "sign-in link is on its way" in answer.get_data(as_text=True)
    return list(calls)


def test_signin_makes_the_same_calls_whether_or_not_the_email_has_photos(app: Flask, stack: Stack,
                                                                         aws_calls: list[Call]) -> None:
    form_upload(app.test_client(), email="has-photos@example.com")
    _signin_work(app, "warm-up@example.com", aws_calls)  # the queue's URL is looked up once, at first use
    runs = {email: _signin_work(app, email, aws_calls)
            for email in ("has-photos@example.com", "no-photos@example.com", "Has-Photos@Example.com",
                          "nobody-at-all@example.org")}
    first = runs["has-photos@example.com"]
    assert all(work == first for work in runs.values()), runs
    settings, queue = stack.env["PHOTOLANE_SETTINGS_TABLE"], stack.resources.notifications_queue_url
    # The two request limits (per client, per email), then the one message: nothing else, no photo read.
    assert first == [("dynamodb", "UpdateItem", settings, None), ("dynamodb", "UpdateItem", settings, None),
                     ("sqs", "SendMessage", queue, None)]
    assert not any(table == stack.env["PHOTOLANE_PHOTOS_TABLE"] for _, _, table, _ in first)


def _ask(client: FlaskClient, email: str, calls: list[Call] | None = None) -> str:
    """The page answering an ask; ``calls``: emptied first, then holding the ask's own AWS calls."""
    token = form_token(client, "/signin")
    if calls is not None:
        calls.clear()
    answer = client.post("/signin", data={"email": email, "csrf_token": token})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _asked_again(page: str) -> str | None:
    """The asked-again sentence, its time taken out (the minute may turn between two asks)."""
    match = re.search(r'id="signin-asked-again">(.*?)</p>', page, re.S)
    return re.sub(r"<time .*?</time>", "<time>", match.group(1)) if match else None


def test_a_second_ask_from_this_browser_within_the_interval_says_so_and_nothing_of_anyone_else(
        app: Flask, stack: Stack, aws_calls: list[Call], monkeypatch: pytest.MonkeyPatch) -> None:
    form_upload(app.test_client(), email="again@example.com")
    laptop = app.test_client()
    _ask(laptop, "warm-up-again@example.com")  # the queue's URL is looked up once, at first use
    before = time.time()
    first = _ask(laptop, "again@example.com", aws_calls)
    assert 'id="signin-sent"' in first and _asked_again(first) is None
    work_of_first = list(aws_calls)
    second = _ask(laptop, "Again@Example.com ", aws_calls)  # the same address, however typed
    assert aws_calls == work_of_first  # the same work: the notifier still gets the message (and drops it)
    assert "sign-in link is on its way" not in second and "less than a minute ago" in " ".join(second.split())
    assert "check your inbox (and spam)" in second and "/dev/inbox" not in second  # not local mode
    when = re.search(r'<time datetime="([^"]+)" data-style="time">(\d\d:\d\d) UTC</time>', second)
    assert when, second
    free = datetime.fromisoformat(when.group(1))
    assert free.second == 0 and before + 60 <= free.timestamp() < time.time() + 120  # the next whole minute
    assert when.group(2) == free.strftime("%H:%M")

    # Another browser asking for the same address is told nothing of this browser's asks.
    assert _asked_again(_ask(app.test_client(), "again@example.com")) is None
    # An address without photos: the same sentences, in the same order (nothing tells who has photos).
    nobody = app.test_client()
    assert _asked_again(_ask(nobody, "no-photos-again@example.com")) is None
    assert _asked_again(_ask(nobody, "no-photos-again@example.com")) == _asked_again(second)
    # Once the interval is over (PHOTOLANE_SIGNIN_INTERVAL_SECONDS, 60), a new ask is a new link on its way.
    later = before + 61
    monkeypatch.setattr(web, "time", SimpleNamespace(time=lambda: later))
    again = _ask(laptop, "again@example.com")
    assert 'id="signin-sent"' in again and _asked_again(again) is None
    assert _asked_again(_ask(laptop, "again@example.com")) is not None  # ...and remembered again


def test_without_an_interval_no_ask_is_said_to_be_a_repeat(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(signin_interval_seconds=0))
    app.config["TESTING"] = True
    client = app.test_client()
    assert all('id="signin-sent"' in _ask(client, "zero@example.com") for _ in range(2))
