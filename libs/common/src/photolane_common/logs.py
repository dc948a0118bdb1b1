"""JSON logs: one line per event, carrying the service name and the photo id in hand."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime

_photo_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("photo_id", default=None)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "event": record.getMessage(),
        }
        photo_id = _photo_id.get()
        if photo_id:
            entry["photo_id"] = photo_id
        for key, value in vars(record).items():
            # "_aws": a metric's embedded-metric-format block (metrics.py), top-level as CloudWatch wants it.
            if key not in _STANDARD and (not key.startswith("_") or key == "_aws"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = "".join(traceback.format_exception_only(*record.exc_info[:2])).strip()
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


def configure(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, boto's, gunicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def photo_context(photo_id: str | None) -> Iterator[None]:
    """Every log line inside carries this photo id."""
    token = _photo_id.set(photo_id)
    try:
        yield
    finally:
        _photo_id.reset(token)
