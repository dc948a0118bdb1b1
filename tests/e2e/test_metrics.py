"""Metrics end to end: the services' EMF log lines, and the admin page's figures from the local counters."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from photolane.testing import wait_for

from .conftest import Running, finished, upload

pytestmark = pytest.mark.e2e


def metric_lines(running: Running) -> list[dict[str, Any]]:
    lines = []
    for text in running.service_logs().splitlines():
        if '"_aws"' not in text:
            continue
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue
    return lines


def emitted(running: Running, name: str, **dims: str) -> list[dict[str, Any]]:
    """The EMF lines of that metric (with those dimension values), checked to be what CloudWatch reads."""
    found = []
    for line in metric_lines(running):
        if name not in line or any(line.get(k) != v for k, v in dims.items()):
            continue
        directive = line["_aws"]["CloudWatchMetrics"][0]
        assert isinstance(line["_aws"]["Timestamp"], int) and directive["Namespace"] == "photolane"
        assert [mt["Name"] for mt in directive["Metrics"]] == [name]
        assert all(isinstance(line[k], str) for k in directive["Dimensions"][0])
        assert isinstance(line[name], int | float)
        found.append(line)
    return found


def admin_session(running: Running) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{running.url}/admin", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(f"{running.url}/admin/login", data={"token": running.admin_token, "csrf_token": token},
                          timeout=10, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    return session


def cell(page: str, row: str, column: str = "day") -> str | None:
    found = re.search(rf'<tr id="figure-{re.escape(row)}"[^>]*>.*?<td class="{column}">([^<]*)</td>', page, re.S)
    return found.group(1).strip() if found else None


def test_the_figures_of_an_upload_a_refusal_and_a_photo_processed(running: Running, faces_dir: Path) -> None:
    email, phone = f"{uuid.uuid4().hex[:8]}@example.com", f"+1415555{2000 + uuid.uuid4().int % 8000:04d}"
    answer = upload(running, (faces_dir / "obama_1.jpg").read_bytes(), email=email, phone=phone)
    assert answer.status_code == 202
    refused = upload(running, b"this is not an image", name="notes.txt")
    assert refused.status_code == 400
    photo = finished(running, answer.json()["id"])
    assert photo["status"] == "processed"

    def notified() -> bool:
        return len(emitted(running, "Notifications", service="notifier", channel="email", status="sent")) >= 1 \
            and len(emitted(running, "Notifications", service="notifier", channel="sms", status="sent")) >= 1

    wait_for(notified, 60, "the notifier's metric lines")
    # (a) the EMF lines, one a figure, each carrying its service (and the photo id when there is one).
    assert emitted(running, "UploadsAccepted", service="upload")
    assert emitted(running, "UploadsRefused", service="upload", reason="not_image")
    processed = emitted(running, "PhotosProcessed", service="processor")
    assert photo["id"] in {line.get("photo_id") for line in processed}
    stages = {line["stage"] for line in emitted(running, "StageMs", service="processor")
              if line.get("photo_id") == photo["id"]}
    assert {"decode", "detect", "encode", "total"} <= stages
    found = [line for line in emitted(running, "FacesFound", service="processor")
             if line.get("photo_id") == photo["id"]]
    assert found and found[0]["FacesFound"] == 1
    assert emitted(running, "QueueLagMs", service="processor") and emitted(running, "QueueLagMs", service="notifier")
    assert emitted(running, "SmsSegments", service="notifier")
    for line in metric_lines(running):  # never an id, an address or a number as a dimension
        for key in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]:
            assert key in ("service", "reason", "limit", "status", "stage", "phase", "channel"), key

    # (b) the admin page: the same figures from the counters (written every few seconds by each service).
    session = admin_session(running)

    def page() -> str | None:
        text = session.get(f"{running.url}/admin", timeout=10).text
        counted = all(int((cell(text, row) or "0").replace(",", "")) >= 1 for row in (
            "uploads-accepted", "uploads-refused-not_image", "photos-processed", "faces-found",
            "notifications-sms-sent", "notifications-email-sent"))
        return text if counted else None

    text = wait_for(page, 60, "the admin page's figures")
    assert cell(text, "stage-detect", "day").endswith("ms")
    assert cell(text, "queue-lag-processor", "day") not in (None, "–")
