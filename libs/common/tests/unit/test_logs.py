import json
import logging

from photolane_common.logs import JsonFormatter, photo_context


def _format(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter("processor").format(record))


def test_one_json_line_with_service_event_and_extras() -> None:
    record = logging.makeLogRecord({"msg": "photo.processed", "levelname": "INFO", "faces": 3})
    line = _format(record)
    assert line["service"] == "processor"
    assert line["event"] == "photo.processed"
    assert line["level"] == "info"
    assert line["faces"] == 3
    assert "photo_id" not in line


def test_lines_inside_a_photo_context_carry_the_photo_id() -> None:
    with photo_context("p-42"):
        line = _format(logging.makeLogRecord({"msg": "x", "levelname": "INFO"}))
    assert line["photo_id"] == "p-42"
    assert "photo_id" not in _format(logging.makeLogRecord({"msg": "x", "levelname": "INFO"}))


def test_errors_carry_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.makeLogRecord({"msg": "failed", "levelname": "ERROR", "exc_info": sys.exc_info()})
    line = _format(record)
    assert line["error"] == "ValueError: boom"
    assert "Traceback" in line["traceback"]
