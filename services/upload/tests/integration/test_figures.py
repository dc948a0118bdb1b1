"""The admin page's figures: the local counters (PHOTOLANE_METRICS_COUNTERS) against a real moto server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from photolane_common import metrics as m
from photolane_upload.settings import UploadSettings

from ..conftest import admin_client, form_upload


@pytest.fixture
def counters(stack: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PHOTOLANE_METRICS_COUNTERS", "true")
    m.configure("upload", UploadSettings())
    try:
        yield
    finally:
        if m.metrics.sink is not None:
            m.metrics.sink.close()
        m.metrics.sink, m.metrics.service = None, "photolane"


def _cell(page: str, row: str, column: str = "day") -> str:
    found = re.search(rf'<tr id="figure-{re.escape(row)}"[^>]*>.*?<td class="{column}">([^<]*)</td>', page, re.S)
    assert found, f"no row {row} in the figures"
    return found.group(1).strip()


def test_the_figures_count_uploads_accepted_and_refused_by_reason(counters: None, client: FlaskClient) -> None:
    assert form_upload(client, json=True).status_code == 202
    assert form_upload(client, json=True).status_code == 202
    assert form_upload(client, data=b"not an image", name="x.txt", json=True).status_code == 400
    assert form_upload(client, json=True, email="not an email").status_code == 400
    page = admin_client(client).get("/admin").get_data(as_text=True)
    assert 'id="figures"' in page
    assert _cell(page, "uploads-accepted") == "2" and _cell(page, "uploads-accepted", "hour") == "2"
    assert _cell(page, "uploads-refused") == "2"
    assert _cell(page, "uploads-refused-not_image") == "1"
    assert _cell(page, "uploads-refused-bad_email") == "1"


def test_without_counters_the_page_points_to_the_dashboard(client: FlaskClient) -> None:
    page = admin_client(client).get("/admin").get_data(as_text=True)
    assert 'id="figures-where"' in page and "CloudWatch dashboard" in page
    assert 'id="figures-counts"' not in page


def test_processing_figures_show_as_counts_and_mean_milliseconds(counters: None, client: FlaskClient) -> None:
    worker = m.Metrics("processor", sink=m.metrics.sink)  # as a processor of the same stack counts them
    worker.count(m.PHOTOS_PROCESSED)
    worker.timing(m.STAGE_MS, 10, stage="detect")
    worker.timing(m.STAGE_MS, 30, stage="detect")
    worker.timing(m.QUEUE_LAG_MS, 200)
    m.Metrics("notifier", sink=m.metrics.sink).count(m.NOTIFICATIONS, channel="sms", status="sent")
    page = admin_client(client).get("/admin").get_data(as_text=True)
    assert _cell(page, "photos-processed") == "1"
    assert _cell(page, "stage-detect") == "20 ms"
    assert _cell(page, "queue-lag-processor") == "200 ms / 200 ms"
    assert _cell(page, "notifications-sms-sent") == "1"
