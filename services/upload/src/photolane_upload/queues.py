"""The queues an admin watches: depth, dead letters, redrive and purge (SQS behind a small class).

Redrive moves dead letters back with receive → send → delete in batches of ten: SQS's own
StartMessageMoveTask would do it on AWS, but the stand-in (moto) does not implement it, and one
code path serves both. A message is deleted from the dead-letter queue only once it is sent back,
so a failure part-way leaves it in one of the two queues, never in neither (at worst in both:
handlers are idempotent).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("photolane.upload.queues")

WAITING, IN_FLIGHT = "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
MAX_REDRIVE = 10_000  # per request; the page says how many moved and can be asked again


class UnknownQueue(KeyError):
    pass


class PurgeRefused(Exception):
    """SQS allows one purge per queue a minute."""


@dataclass(frozen=True)
class QueueDepth:
    name: str  # the name in the admin routes: jobs, notifications
    queue: str  # the SQS queue's own name
    messages: int  # waiting
    in_flight: int  # received, not yet deleted
    dead_letters: int
    dead_letter_queue: str | None


class QueueAdmin:
    def __init__(self, sqs: Any, queues: dict[str, str]) -> None:
        """``queues``: route name → SQS queue name (each with a redrive policy to its dead-letter queue)."""
        self.sqs = sqs
        self.queues = queues
        self._urls: dict[str, str] = {}

    def names(self) -> list[str]:
        """Every purgeable name: each queue and its dead-letter queue (``<name>-dlq``)."""
        return [n for name in self.queues for n in (name, f"{name}-dlq")]

    def depths(self) -> list[QueueDepth]:
        out = []
        for name, queue in self.queues.items():
            source = self._counts(self._url(name))
            dlq_url = self._dead_letter_url(name)
            dead = self._counts(dlq_url) if dlq_url else (0, 0)
            out.append(QueueDepth(name, queue, source[0], source[1], dead[0] + dead[1],
                                  dlq_url.rsplit("/", 1)[-1] if dlq_url else None))
        return out

    def redrive(self, name: str) -> int:
        """Move the dead letters of queue ``name`` back to it; returns how many moved."""
        source, dlq = self._url(name), self._dead_letter_url(name)
        if dlq is None:
            return 0
        moved, empty = 0, 0
        while moved < MAX_REDRIVE and empty < 2:
            got = self.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           VisibilityTimeout=60).get("Messages", [])
            if not got:
                empty += 1  # SQS may answer empty while messages remain: ask once more
                continue
            empty = 0
            entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)]
            sent = self.sqs.send_message_batch(QueueUrl=source, Entries=entries).get("Successful", [])
            done = [got[int(s["Id"])] for s in sent]
            if done:
                self.sqs.delete_message_batch(QueueUrl=dlq, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            moved += len(done)
            if len(done) < len(got):
                break  # the others are visible again after the timeout; the admin can redrive again
        log.info("queue.redriven", extra={"queue": name, "moved": moved})
        return moved

    def purge(self, name: str) -> None:
        """Delete every message of ``name`` (a queue or ``<queue>-dlq``)."""
        if name not in self.names():
            raise UnknownQueue(name)
        base = name.removesuffix("-dlq")
        url = self._dead_letter_url(base) if name.endswith("-dlq") else self._url(base)
        if url is None:
            return
        try:
            self.sqs.purge_queue(QueueUrl=url)
        except self.sqs.exceptions.PurgeQueueInProgress as exc:
            raise PurgeRefused(f"{name} was purged less than a minute ago; SQS allows one purge a minute") from exc
        log.info("queue.purged", extra={"queue": name})

    def _url(self, name: str) -> str:
        if name not in self.queues:
            raise UnknownQueue(name)
        if name not in self._urls:
            self._urls[name] = self.sqs.get_queue_url(QueueName=self.queues[name])["QueueUrl"]
        return self._urls[name]

    def _dead_letter_url(self, name: str) -> str | None:
        """From the queue's redrive policy (the deployment names its dead-letter queues, not this code)."""
        key = f"{name}-dlq"
        if key not in self._urls:
            attrs = self.sqs.get_queue_attributes(QueueUrl=self._url(name), AttributeNames=["RedrivePolicy"])
            policy = attrs.get("Attributes", {}).get("RedrivePolicy")
            if not policy:
                return None
            arn = json.loads(policy)["deadLetterTargetArn"]
            account, queue = arn.split(":")[4], arn.split(":")[5]
            self._urls[key] = self.sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._urls[key]

    def _counts(self, url: str) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=[WAITING, IN_FLIGHT])["Attributes"]
        return int(attrs.get(WAITING, 0)), int(attrs.get(IN_FLIGHT, 0))
