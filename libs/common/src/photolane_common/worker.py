"""The SQS worker loop shared by the processor and the notifier.

Long polls one message at a time; deletes it only after the handler succeeded; keeps it hidden
while the handler runs (so a long job is not handed to a second worker); retries with a backoff;
after the last allowed receive lets the handler record the failure and leaves the message to the
queue's redrive policy (dead-letter queue); moves a message that can never be parsed to the
dead-letter queue at once. SIGTERM/SIGINT stop the loop after the message in hand.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import aws
from .health import Heartbeat
from .logs import photo_context
from .messages import Envelope, InvalidMessage, decode
from .settings import WorkerSettings

log = logging.getLogger("photolane.worker")

Handle = Callable[[Envelope], None]
GiveUp = Callable[[Envelope, BaseException], None]


class _Stop(BaseException):
    """Raised from the signal handler to leave a receive that is waiting for messages.

    A BaseException, like KeyboardInterrupt, so botocore's retry handling does not swallow it.
    """


@dataclass(frozen=True)
class Received:
    body: str
    receipt: str
    message_id: str
    receive_count: int

    @classmethod
    def from_sqs(cls, raw: dict[str, Any]) -> Received:
        count = int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        return cls(raw["Body"], raw["ReceiptHandle"], raw["MessageId"], count)


class Worker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handle: Handle,
        settings: WorkerSettings,
        give_up: GiveUp | None = None,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handle = handle
        self.give_up = give_up
        self.settings = settings
        self.heartbeat = Heartbeat(settings.health_file)
        self.dead_letter_url = self._dead_letter_url()
        self._stopping = False
        self._busy = False

    @classmethod
    def on_queue(cls, settings: WorkerSettings, queue_name: str, handle: Handle,
                 give_up: GiveUp | None = None) -> Worker:
        """A worker on the queue of that name, with its own SQS client."""
        sqs = aws.client("sqs", settings)
        return cls(sqs, sqs.get_queue_url(QueueName=queue_name)["QueueUrl"], handle, settings, give_up)

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Poll until SIGTERM or SIGINT; the message in hand is finished first."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        log.info("worker.started", extra={"queue_url": self.queue_url})
        try:
            while not self._stopping:
                self.poll_once()
        except _Stop:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.heartbeat.clear()
            log.info("worker.stopped", extra={"queue_url": self.queue_url})

    def stop(self) -> None:
        self._stopping = True

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("worker.stopping", extra={"signal": signal.Signals(signum).name, "busy": self._busy})
        self._stopping = True
        if not self._busy:
            raise _Stop()

    def poll_once(self) -> int:
        """One long poll; handles what it received. Returns how many messages it got."""
        self.heartbeat.beat()
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self.settings.poll_wait_seconds,
            VisibilityTimeout=self.settings.visibility_timeout_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        received = [Received.from_sqs(raw) for raw in response.get("Messages", [])]
        self._busy = bool(received)
        try:
            for message in received:
                self._process(message)
        finally:
            self._busy = False
        return len(received)

    # -- one message --------------------------------------------------------------------------
    def _process(self, message: Received) -> None:
        try:
            envelope = decode(message.body)
        except InvalidMessage as exc:
            self._dead_letter(message, str(exc))
            return
        with photo_context(envelope.data.get("photo_id")):
            log.info("message.received", extra={"type": envelope.type, "message_id": message.message_id,
                                                "receive_count": message.receive_count})
            try:
                with self._kept_hidden(message):
                    self.handle(envelope)
            except InvalidMessage as exc:
                self._dead_letter(message, str(exc))
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
                self._failed(message, envelope, exc)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt)
                log.info("message.done", extra={"type": envelope.type, "message_id": message.message_id})

    def _failed(self, message: Received, envelope: Envelope, exc: Exception) -> None:
        last = message.receive_count >= self.settings.max_receives
        log.error("message.failed", exc_info=exc, extra={"type": envelope.type, "message_id": message.message_id,
                                                          "receive_count": message.receive_count, "last_try": last})
        if last and self.give_up is not None:
            try:
                self.give_up(envelope, exc)
            except Exception:  # noqa: BLE001 - the message still goes to the dead-letter queue
                log.exception("message.give_up_failed")
        # Visible again soon: a retry after a short backoff, or the move to the dead-letter queue.
        delay = 0 if last else min(2 ** message.receive_count, self.settings.visibility_timeout_seconds)
        self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message.receipt,
                                           VisibilityTimeout=delay)

    def _dead_letter(self, message: Received, reason: str) -> None:
        log.error("message.invalid", extra={"reason": reason, "message_id": message.message_id,
                                            "body": message.body[:2000]})
        if self.dead_letter_url:
            self.sqs.send_message(
                QueueUrl=self.dead_letter_url,
                MessageBody=message.body,
                MessageAttributes={"error": {"DataType": "String", "StringValue": reason[:1000]}},
            )
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt)

    @contextmanager
    def _kept_hidden(self, message: Received) -> Iterator[None]:
        """While the handler runs, push the message's visibility out so no other worker takes it."""
        done = threading.Event()
        timeout = self.settings.visibility_timeout_seconds

        def extend() -> None:
            while not done.wait(timeout / 2):
                self.heartbeat.beat()
                try:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message.receipt,
                                                       VisibilityTimeout=timeout)
                    log.info("message.extended", extra={"message_id": message.message_id, "seconds": timeout})
                except Exception:  # noqa: BLE001 - the handler goes on; worst case the job runs twice
                    log.exception("message.extend_failed")

        thread = threading.Thread(target=extend, name="visibility", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _dead_letter_url(self) -> str | None:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            log.warning("worker.no_dead_letter_queue", extra={"queue_url": self.queue_url})
            return None
        arn = json.loads(policy)["deadLetterTargetArn"]
        account, name = arn.split(":")[4], arn.split(":")[5]
        return self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
