"""POST /signin does the same work whether or not the email has photos (finding A: the answer took 62 ms
for an email with photos and 39 ms for one without, which told who has photos).

Every AWS call the route makes is recorded (botocore's one entry point, for boto3's clients and
pynamodb's alike), and the sequences for both kinds of email must be identical: the same operations on
the same tables and queues, and no read of the photos at all (the notifier decides).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.client import BaseClient
from flask import Flask

from photolane.testing import Stack

from ..conftest import form_token, form_upload

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
