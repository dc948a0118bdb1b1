"""Number statistics over the queues: the CLI's one direct use of SQS (a reply queue of its own)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from photolane_common import aws, messages
from photolane_common.messages import REPLY_QUEUE_PREFIX, StatsAnswered, StatsRequested
from photolane_common.settings import CommonSettings

# A day's uploads per hour, from the system this one replaces: what --sample sends.
SAMPLE = (12, 7, 3, 1, 0, 0, 2, 9, 31, 44, 52, 48, 61, 57, 49, 53, 66, 72, 58, 41, 37, 29, 22, 15)


class StatsError(Exception):
    """What went wrong, said for the person at the terminal."""


def sqs_client(settings: CommonSettings) -> Any:
    """SQS for the configured endpoint; the stand-in on loopback takes any credentials."""
    host = urlsplit(settings.aws_endpoint_url or "").hostname
    extra: dict[str, str] = {}
    if host in ("127.0.0.1", "localhost", "::1"):
        import boto3

        if boto3.Session().get_credentials() is None:
            extra = {"aws_access_key_id": "standin", "aws_secret_access_key": "standin"}
    return aws.client("sqs", settings, **extra)


def ask_stats(settings: CommonSettings, numbers: list[Any], timeout: float) -> StatsAnswered:
    """Send the numbers to the processor and wait for its answer on a queue of our own."""
    sqs = sqs_client(settings)
    request_id = str(uuid.uuid4())
    reply_name = f"{REPLY_QUEUE_PREFIX}{request_id}"
    with _aws_errors():
        jobs = aws.MessageQueue.named(sqs, settings.jobs_queue)
        reply_url = sqs.create_queue(QueueName=reply_name, Attributes={"MessageRetentionPeriod": "300"})["QueueUrl"]
    try:
        with _aws_errors():
            jobs.send(StatsRequested(request_id=request_id, numbers=numbers, reply_queue=reply_name))
            return _await_answer(sqs, reply_url, request_id, timeout)
    finally:
        try:
            sqs.delete_queue(QueueUrl=reply_url)
        except (BotoCoreError, ClientError):
            pass  # a reply queue left behind expires its messages; nothing else depends on it


def _await_answer(sqs: Any, reply_url: str, request_id: str, timeout: float) -> StatsAnswered:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = sqs.receive_message(QueueUrl=reply_url, MaxNumberOfMessages=1, WaitTimeSeconds=max(1, min(20, int(left))))
        for message in got.get("Messages", []):
            sqs.delete_message(QueueUrl=reply_url, ReceiptHandle=message["ReceiptHandle"])
            try:
                answer = messages.decode(message["Body"]).expect(StatsAnswered)
            except messages.InvalidMessage:
                continue  # not ours to read; the queue is ours alone, so this is noise
            if answer.request_id == request_id:
                return answer
    raise StatsError(f"no answer within {timeout:g} s: is the processor running?")


@contextmanager
def _aws_errors() -> Iterator[None]:
    """AWS failures as StatsError with the reason, not a traceback."""
    try:
        yield
    except aws.MissingQueue as exc:
        raise StatsError(f"no queue {exc.args[0]!r} at this endpoint (is photolane running? "
                         "AWS_ENDPOINT_URL and the PHOTOLANE_* queue names must match it)") from exc
    except NoCredentialsError as exc:
        raise StatsError("no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or AWS_ENDPOINT_URL "
                         "for the local stand-in)") from exc
    except EndpointConnectionError as exc:
        raise StatsError(f"cannot reach AWS at {exc.kwargs.get('endpoint_url')} (is photolane running?)") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StatsError(f"{error.get('Code', 'error')}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise StatsError(str(exc)) from exc


def answer_json(answer: StatsAnswered) -> str:
    return json.dumps(answer.model_dump(exclude_none=True))
