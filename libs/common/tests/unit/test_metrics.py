"""Metrics as CloudWatch embedded-metric-format log lines, and the local counters' bookkeeping."""

import json
import logging
from typing import Any

import pytest

from photolane_common import metrics as m
from photolane_common.logs import JsonFormatter, photo_context


class Lines(logging.Handler):
    """The metric logger's lines, formatted as the services write them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.setFormatter(JsonFormatter("upload"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Any:
    handler = Lines()
    logger = logging.getLogger("photolane.metrics")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def assert_valid_emf(line: dict[str, Any]) -> None:
    """What CloudWatch requires of an EMF line (the specification's MetricDirective rules)."""
    aws = line["_aws"]
    assert isinstance(aws["Timestamp"], int) and aws["Timestamp"] > 1_600_000_000_000
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and directive["Namespace"]
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(line[key], str) and line[key], key  # every dimension: a top-level string
        assert directive["Metrics"]
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric["Unit"] in ("Count", "Milliseconds", "Percent")  # CloudWatch's own unit names
            value = line[metric["Name"]]  # every metric: a top-level number
            assert isinstance(value, int | float) and not isinstance(value, bool)


def test_a_count_is_one_valid_emf_line(lines: list[dict[str, Any]]) -> None:
    metrics = m.Metrics("upload", "photolane-test", clock=lambda: 1764441600.123)
    metrics.count(m.UPLOADS_REFUSED, reason="too_large")
    assert len(lines) == 1
    line = lines[0]
    assert_valid_emf(line)
    assert line["_aws"]["Timestamp"] == 1764441600123
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "photolane-test"
    assert directive["Dimensions"] == [["service", "reason"]]
    assert directive["Metrics"] == [{"Name": "UploadsRefused", "Unit": "Count"}]
    assert line["UploadsRefused"] == 1 and line["reason"] == "too_large" and line["service"] == "upload"
    assert line["event"] == "metric"


def test_a_timing_is_in_milliseconds_and_carries_the_photo_id(lines: list[dict[str, Any]]) -> None:
    metrics = m.Metrics("processor")
    with photo_context("p-1"):
        metrics.timing(m.STAGE_MS, 41.25, stage="detect")
    line = lines[0]
    assert_valid_emf(line)
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "StageMs", "Unit": "Milliseconds"}]
    assert line["StageMs"] == 41.25 and line["stage"] == "detect"
    assert line["photo_id"] == "p-1"  # a log field, never a dimension
    assert "photo_id" not in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]


def test_a_level_is_in_percent_and_kept_locally_like_a_timing(lines: list[dict[str, Any]]) -> None:
    dynamo = FakeDynamo()
    sink = m.CounterSink(dynamo, "settings", start=False)
    metrics = m.Metrics("notifier", sink=sink, clock=lambda: 1764441600.0)
    metrics.level(m.SMS_CEILING_USED, 40.0)
    metrics.level(m.SMS_CEILING_USED, 80.0)
    line = lines[0]
    assert_valid_emf(line)
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "SmsCeilingUsed", "Unit": "Percent"}]
    assert line["SmsCeilingUsed"] == 40.0 and line["service"] == "notifier"
    sink.flush()
    values = dynamo.calls[0]["ExpressionAttributeValues"]
    assert sorted(v["N"] for k, v in values.items() if k != ":expires") == ["120", "2"]  # sum and count: a mean
    assert dynamo.calls[1]["ExpressionAttributeValues"] == {":m": {"N": "80"}}  # and the largest


def test_dimension_values_are_strings(lines: list[dict[str, Any]]) -> None:
    m.Metrics("notifier").count(m.NOTIFICATIONS, 2, channel="sms", status=200)  # type: ignore[arg-type]
    assert_valid_emf(lines[0])
    assert lines[0]["status"] == "200" and lines[0]["Notifications"] == 2


def test_a_name_the_line_uses_already_is_refused() -> None:
    with pytest.raises(ValueError):
        m.Metrics("upload").count("UploadsAccepted", event="x")
    with pytest.raises(ValueError):
        m.Metrics("upload").count("service")


def test_metric_lines_are_written_whatever_the_log_level(lines: list[dict[str, Any]]) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        m.Metrics("upload").count(m.UPLOADS_ACCEPTED)
    finally:
        root.setLevel(level)
    assert len(lines) == 1


def test_sms_segments() -> None:
    assert m.sms_segments("a" * 160) == 1
    assert m.sms_segments("a" * 161) == 2
    assert m.sms_segments("é" + "a" * 69) == 1  # not ASCII: counted as UCS-2 (conservatively)
    assert m.sms_segments("é" + "a" * 70) == 2


class FakeDynamo:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def update_item(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        return {}


def test_the_sink_adds_up_in_memory_and_writes_one_update_an_hour() -> None:
    dynamo = FakeDynamo()
    sink = m.CounterSink(dynamo, "settings", start=False)
    metrics = m.Metrics("processor", sink=sink, clock=lambda: 1764441600.0)  # 2025-11-29 18:40 UTC
    metrics.count(m.PHOTOS_PROCESSED)
    metrics.count(m.PHOTOS_PROCESSED)
    metrics.count(m.FACES_FOUND, 3)
    metrics.timing(m.STAGE_MS, 10, stage="detect")
    metrics.timing(m.STAGE_MS, 30, stage="detect")
    assert dynamo.calls == []  # nothing is written on the hot path
    assert sink.flush() == 2  # the counts and sums; the largest detect time
    update, peak = dynamo.calls
    assert update["Key"] == {"key": {"S": "metrics:2025112918"}}
    assert update["UpdateExpression"].startswith("ADD ")
    values = {update["ExpressionAttributeNames"][k.replace(":", "#")]: v["N"]
              for k, v in update["ExpressionAttributeValues"].items() if k != ":expires"}
    assert values == {"PhotosProcessed|service=processor|c": "2", "FacesFound|service=processor|c": "3",
                      "StageMs|service=processor,stage=detect|c": "2",
                      "StageMs|service=processor,stage=detect|s": "40"}
    expires = int(update["ExpressionAttributeValues"][":expires"]["N"])
    assert expires == 1764439200 + 3600 + 8 * 86400  # the hour's end, plus 8 days
    assert peak["ExpressionAttributeNames"] == {"#m": "StageMs|service=processor,stage=detect|m"}
    assert peak["ExpressionAttributeValues"] == {":m": {"N": "30"}}
    assert "ConditionExpression" in peak
    assert sink.flush() == 0  # nothing new: no write


def test_a_failed_write_is_kept_for_the_next_flush() -> None:
    from botocore.exceptions import EndpointConnectionError

    class Away(FakeDynamo):
        def update_item(self, **call: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    sink = m.CounterSink(Away(), "settings", start=False)
    m.Metrics("upload", sink=sink, clock=lambda: 1764441600.0).count(m.UPLOADS_ACCEPTED)
    assert sink.flush() == 0
    sink.dynamodb = FakeDynamo()
    m.Metrics("upload", sink=sink, clock=lambda: 1764441600.0).count(m.UPLOADS_ACCEPTED)
    assert sink.flush() == 1
    assert sink.dynamodb.calls[0]["ExpressionAttributeValues"][":c0"] == {"N": "2"}


def test_figures_add_up_the_hours() -> None:
    one = {"key": {"S": "metrics:2025112918"}, "expires_at": {"N": "1"},
           "UploadsRefused|reason=too_large,service=upload|c": {"N": "2"},
           "UploadsRefused|reason=not_image,service=upload|c": {"N": "1"},
           "QueueLagMs|service=processor|c": {"N": "2"}, "QueueLagMs|service=processor|s": {"N": "300"},
           "QueueLagMs|service=processor|m": {"N": "250"}}
    two = {"UploadsRefused|reason=too_large,service=upload|c": {"N": "5"},
           "QueueLagMs|service=processor|c": {"N": "1"}, "QueueLagMs|service=processor|s": {"N": "30"},
           "QueueLagMs|service=processor|m": {"N": "30"}}
    figures = m.Figures(24)
    figures.add(one)
    figures.add(two)
    assert figures.total(m.UPLOADS_REFUSED) == 8
    assert figures.total(m.UPLOADS_REFUSED, reason="too_large") == 7
    assert {k: s.count for k, s in figures.by(m.UPLOADS_REFUSED, "reason").items()} == {
        ("not_image",): 1, ("too_large",): 7}
    lag = figures.timing(m.QUEUE_LAG_MS, service="processor")
    assert lag.count == 3 and lag.mean == 110 and lag.peak == 250
