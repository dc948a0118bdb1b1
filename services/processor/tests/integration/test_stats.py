"""Number statistics over real queues: request on the jobs queue, answer on the named reply queue."""

import json
import uuid

import pytest

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.messages import REPLY_QUEUE_PREFIX, StatsAnswered, StatsRequested, decode, encode
from photolane_processor.bootstrap import build_worker
from photolane_processor.handlers import ProcessorDeps


def _reply_queue(deps: ProcessorDeps) -> tuple[str, str]:
    name = f"{REPLY_QUEUE_PREFIX}{uuid.uuid4().hex}"
    return name, aws.client("sqs", deps.settings).create_queue(QueueName=name)["QueueUrl"]


def _ask(deps: ProcessorDeps, stack: Stack, body: str) -> None:
    """Send a raw request to the jobs queue and let the processor's worker take every message."""
    aws.client("sqs", deps.settings).send_message(QueueUrl=stack.resources.jobs_queue_url, MessageBody=body)
    worker = build_worker(deps.settings, deps)
    while worker.poll_once():
        pass


def _answers(deps: ProcessorDeps, url: str) -> list[StatsAnswered]:
    got = aws.client("sqs", deps.settings).receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [decode(m["Body"]).expect(StatsAnswered) for m in got.get("Messages", [])]


def _dead_letters(deps: ProcessorDeps, stack: Stack) -> list[str]:
    sqs = aws.client("sqs", deps.settings)
    url = sqs.get_queue_url(QueueName=f"{deps.settings.jobs_queue}-dlq")["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                   WaitTimeSeconds=1).get("Messages", [])]


def test_numbers_are_summarized_on_the_reply_queue(deps: ProcessorDeps, stack: Stack) -> None:
    name, url = _reply_queue(deps)
    _ask(deps, stack, encode(StatsRequested(request_id="r-1", numbers=[3, "1", 2, 10.5], reply_queue=name)))
    assert _answers(deps, url) == [StatsAnswered(request_id="r-1", count=4, min=1, max=10.5, mean=4.125,
                                                 median=2.5)]


@pytest.mark.parametrize(("numbers", "error"), [
    (["3", "x", "2"], "not a finite number: 'x'"),
    ("3,1,2", "as a list"),
    ([], "at least one"),
])
def test_malformed_numbers_get_an_error_answer_and_the_worker_goes_on(
        deps: ProcessorDeps, stack: Stack, numbers: object, error: str) -> None:
    name, url = _reply_queue(deps)
    _ask(deps, stack, encode(StatsRequested(request_id="bad", numbers=numbers, reply_queue=name)))
    (answer,) = _answers(deps, url)
    assert answer.request_id == "bad" and answer.count == 0 and answer.min is None
    assert error in answer.error
    _ask(deps, stack, encode(StatsRequested(request_id="next", numbers=[1, 2], reply_queue=name)))
    assert [a.mean for a in _answers(deps, url)] == [1.5]


def test_a_reply_queue_outside_the_prefix_is_never_written_to(deps: ProcessorDeps, stack: Stack) -> None:
    body = json.dumps({"type": "stats.requested", "data": {"request_id": "x", "numbers": [1],
                                                            "reply_queue": deps.settings.notifications_queue}})
    _ask(deps, stack, body)
    assert _dead_letters(deps, stack) == [body]  # unanswerable: dead-lettered at once, with no retry


def test_an_answer_to_a_client_gone_is_dropped(deps: ProcessorDeps, stack: Stack) -> None:
    gone = f"{REPLY_QUEUE_PREFIX}gone-{uuid.uuid4().hex[:8]}"
    _ask(deps, stack, encode(StatsRequested(request_id="r-2", numbers=[1], reply_queue=gone)))
    sqs = aws.client("sqs", deps.settings)
    attributes = sqs.get_queue_attributes(QueueUrl=stack.resources.jobs_queue_url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"  # done, not retried
    assert _dead_letters(deps, stack) == []
