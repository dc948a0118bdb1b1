"""AWS (or the local stand-in) out of reach, or its resources missing: a 503 that says so, never a 500.

The stand-in may be restarted under a running service (``make run``'s supervisor, compose's restart
policy): until it answers again with the bucket, queues and tables re-created, the API answers
``503 {"error": "photolane's storage is not reachable; try again in a moment"}`` with Retry-After,
and the pages a message page with the same status.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from flask import Flask, render_template, request
from pynamodb.exceptions import PynamoDBException, TableDoesNotExist

from photolane_common.aws import MissingQueue

log = logging.getLogger("photolane.upload.outage")

MESSAGE = "photolane's storage is not reachable; try again in a moment"
RETRY_AFTER_SECONDS = 5
# What a stand-in started again answers until the resources are re-created.
MISSING_CODES = {
    "NoSuchBucket", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
    "ResourceNotFoundException", "NotFoundException", "NotFound",
}


def storage_unreachable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) is a connection failure or a missing bucket, queue or table."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, HTTPClientError, MissingQueue, TableDoesNotExist)):
            return True
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in MISSING_CODES:
            return True
        cause = getattr(exc, "cause", None)
        exc = cause if isinstance(cause, BaseException) else (exc.__cause__ or exc.__context__)
    return False


def add_outage_answers(app: Flask) -> None:
    def unreachable(exc: Exception) -> Any:
        if not storage_unreachable(exc):
            raise exc  # a bug, not an outage: Flask logs it and answers 500
        log.warning("storage.unreachable", extra={"path": request.path, "error": str(exc)[:500]})
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return {"error": MESSAGE}, 503, headers
        message = "photolane's storage cannot be reached just now. Try again in a moment."
        return render_template("message.html", title="Back in a moment", message=message, status=503), 503, headers

    for kind in (ConnectionError, HTTPClientError, ClientError, PynamoDBException, MissingQueue):
        app.register_error_handler(kind, unreachable)
