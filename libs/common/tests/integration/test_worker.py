"""The worker loop against a real SQS (moto server over HTTP)."""

import json
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest
from botocore.config import Config

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.messages import Envelope, PhotoProcessed, encode
from photolane_common.settings import WorkerSettings
from photolane_common.worker import Received, RetryLater, Worker, wait_for_queue_url


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


def test_a_receipt_made_invalid_by_a_purge_while_the_job_ran_is_logged_and_the_worker_goes_on(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    sqs, url, _ = _queue(stack)
    seen: list[str] = []

    def purged_meanwhile(envelope: Envelope) -> None:
        seen.append(envelope.payload().photo_id)
        if len(seen) == 1:
            sqs.purge_queue(QueueUrl=url)

    worker = Worker(sqs, url, purged_meanwhile, _settings())
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p7"))
    assert worker.poll_once() == 1  # the delete after success fails: no crash
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p8"))
    worker.poll_once()
    assert seen == ["p7", "p8"]
    assert worker._settle("delete_message", Received("x", "not-a-receipt", "m", 1)) is False


def test_a_deleted_queue_is_waited_for_and_found_again(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    sqs, url, _ = _queue(stack)
    seen: list[str] = []
    worker = Worker(sqs, url, lambda envelope: seen.append(envelope.payload().photo_id),
                    _settings(retry_first_seconds=0.1, retry_max_seconds=0.5))
    name = worker.queue_name
    sqs.delete_queue(QueueUrl=url)
    with caplog.at_level("INFO", logger="photolane.worker"):
        for _ in range(4):
            assert worker.poll_once() == 0  # no crash while it is gone
        new_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        sqs.send_message(QueueUrl=new_url, MessageBody=_processed("p9"))
        deadline = time.monotonic() + 15
        while not seen and time.monotonic() < deadline:
            worker.poll_once()
    assert seen == ["p9"]
    events = [r.getMessage() for r in caplog.records]
    assert events.count("worker.queue_missing") == 1  # once per outage
    assert "worker.recovered" in events


def test_a_worker_waits_for_its_queue_at_start(stack: Stack) -> None:
    settings = _settings(retry_first_seconds=0.1, retry_max_seconds=0.5)
    name = f"late-{uuid.uuid4().hex[:8]}"
    threading.Timer(1.0, lambda: aws.client("sqs", settings).create_queue(QueueName=name)).start()
    worker = Worker.on_queue(settings, name, lambda envelope: None)
    assert worker.queue_url.endswith(name)


def test_aws_unreachable_is_waited_out_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    from photolane.standin import free_port

    settings = WorkerSettings(aws_endpoint_url=f"http://127.0.0.1:{free_port()}", poll_wait_seconds=1,
                              retry_first_seconds=0.05, retry_max_seconds=0.1)
    sqs = aws.client("sqs", settings, config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    found: list[str] = []
    thread = threading.Thread(target=lambda: found.append(wait_for_queue_url(sqs, "nowhere", settings)), daemon=True)
    with caplog.at_level("WARNING", logger="photolane.worker"):
        thread.start()
        thread.join(1.0)
    assert thread.is_alive() and not found  # still waiting, not crashed
    assert [r.getMessage() for r in caplog.records].count("worker.waiting_for_aws") == 1


def test_retry_later_puts_a_copy_back_with_a_delay_without_spending_a_receive(stack: Stack) -> None:
    sqs, url, dlq = _queue(stack)
    counts: list[int] = []

    def not_yet(envelope: Envelope) -> None:
        if len(counts) < 4:
            counts.append(1)
            raise RetryLater("held", 1)

    worker = Worker(sqs, url, not_yet, _settings(max_receives=3))
    sqs.send_message(QueueUrl=url, MessageBody=_processed("p10"))
    deadline = time.monotonic() + 30
    while len(counts) < 4 and time.monotonic() < deadline:
        worker.poll_once()
    while not worker.poll_once() and time.monotonic() < deadline:  # the fifth time: handled, deleted
        pass
    assert len(counts) == 4  # four times back, more than max_receives, and never dead-lettered
    assert not _bodies(sqs, dlq, wait=0)
    assert not _bodies(sqs, url, wait=0)
