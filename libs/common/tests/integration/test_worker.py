"""The worker loop against a real SQS (moto server over HTTP)."""

import json
import os
import signal
import threading
import time
from typing import Any

import pytest

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.messages import Envelope, PhotoProcessed, encode
from photolane_common.settings import WorkerSettings
from photolane_common.worker import Worker


def _settings(**overrides: Any) -> WorkerSettings:
    return WorkerSettings(poll_wait_seconds=1, **overrides)


def _queue(stack: Stack) -> tuple[Any, str, str]:
    sqs = aws.client("sqs", _settings())
    url = stack.resources.notifications_queue_url
    return sqs, url, sqs.get_queue_url(QueueName=f"{stack.env['PHOTOLANE_NOTIFICATIONS_QUEUE']}-dlq")["QueueUrl"]


def _bodies(sqs: Any, url: str, wait: int = 1) -> list[dict]:
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                              MessageAttributeNames=["All"])
    return out.get("Messages", [])


def _processed(photo_id: str) -> str:
    return encode(PhotoProcessed(photo_id=photo_id, status="processed"))


def test_handled_message_is_deleted(stack: Stack) -> None:
    sqs, url, _ = _queue(stack)
    seen: list[Envelope] = []
    worker = Worker(sqs, url, seen.append, _settings())
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p1"))
    assert worker.poll_once() == 1
    assert seen[0].payload() == PhotoProcessed(photo_id="p1", status="processed")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_unparseable_message_goes_to_the_dead_letter_queue_at_once_and_the_worker_goes_on(stack: Stack) -> None:
    sqs, url, dlq = _queue(stack)
    seen: list[Envelope] = []
    worker = Worker(sqs, url, seen.append, _settings())
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p2"))
    while worker.poll_once():
        pass
    assert [e.payload().photo_id for e in seen] == ["p2"]
    dead = _bodies(sqs, dlq)
    assert [m["Body"] for m in dead] == ["{not json"]
    assert "not JSON" in dead[0]["MessageAttributes"]["error"]["StringValue"]


def test_failing_message_is_retried_then_given_up_and_dead_lettered(stack: Stack) -> None:
    sqs, url, dlq = _queue(stack)
    attempts: list[int] = []
    given_up: list[str] = []

    def fail(envelope: Envelope) -> None:
        attempts.append(1)
        raise RuntimeError("S3 is down")

    worker = Worker(sqs, url, fail, _settings(), give_up=lambda env, exc: given_up.append(str(exc)))
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p3"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _peek(sqs, dlq):
        worker.poll_once()
    assert len(attempts) == 3
    assert given_up == ["S3 is down"]
    assert json.loads(_peek(sqs, dlq)[0]["Body"])["data"]["photo_id"] == "p3"


def _peek(sqs: Any, url: str) -> list[dict]:
    found = _bodies(sqs, url, wait=0)
    for message in found:  # put back at once
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return found


def test_message_stays_hidden_while_a_long_handler_runs(stack: Stack) -> None:
    sqs, url, _ = _queue(stack)
    stolen: list[dict] = []

    def slow(envelope: Envelope) -> None:
        time.sleep(2.5)  # longer than the visibility timeout; the worker extends it
        stolen.extend(_bodies(sqs, url, wait=0))
        time.sleep(2.5)

    worker = Worker(sqs, url, slow, _settings(visibility_timeout_seconds=2))
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p4"))
    assert worker.poll_once() == 1
    assert stolen == []
    assert _bodies(sqs, url, wait=0) == []  # deleted after success


def test_sigterm_while_handling_finishes_the_message_then_stops(stack: Stack, tmp_path: Any) -> None:
    sqs, url, _ = _queue(stack)
    finished: list[str] = []

    def handle(envelope: Envelope) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)
        finished.append(envelope.payload().photo_id)

    worker = Worker(sqs, url, handle, _settings(health_file=tmp_path / "w.health"))
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p5"))
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p6"))
    worker.run()
    assert finished == ["p5"]  # finished the one in hand, took no other
    remaining = _bodies(sqs, url)
    assert [json.loads(m["Body"])["data"]["photo_id"] for m in remaining] == ["p6"]
    assert not (tmp_path / "w.health").exists()


def test_sigterm_while_waiting_for_messages_stops_without_waiting_out_the_poll(stack: Stack) -> None:
    sqs, url, _ = _queue(stack)
    worker = Worker(sqs, url, lambda envelope: None, WorkerSettings(poll_wait_seconds=20))
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    worker.run()
    assert time.monotonic() - started < 10  # well short of the 20 s long poll


@pytest.mark.parametrize("poll", [0, 21])
def test_poll_wait_is_bounded_to_what_sqs_allows(poll: int) -> None:
    with pytest.raises(ValueError):
        WorkerSettings(poll_wait_seconds=poll)
