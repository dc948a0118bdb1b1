"""The SQS worker loop shared by the processor and the notifier.

Long polls one message at a time; deletes it only after the handler succeeded; keeps it hidden
while the handler runs (so a long job is not handed to a second worker); retries with a backoff;
after the last allowed receive lets the handler record the failure and leaves the message to the
queue's redrive policy (dead-letter queue); moves a message that can never be parsed to the
dead-letter queue at once; a handler that raises ``RetryLater`` gets its message back after a delay
without spending one of its receives. SIGTERM/SIGINT stop the loop after the message in hand.

Never dies of a queue's state: a queue not there yet (at start) or deleted (while running), AWS
unreachable or throttling, are waited out with a backoff, logged once per outage; a receipt that is
no longer valid (the queue was purged while the job ran) is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .health import Heartbeat
from .logs import photo_context
from .messages import Envelope, InvalidMessage, decode
from .metrics import MESSAGES_DEAD_LETTERED, MESSAGES_FAILED, QUEUE_LAG_MS, metrics
from .settings import WorkerSettings

log = logging.getLogger("photolane.worker")

Handle = Callable[[Envelope], None]
GiveUp = Callable[[Envelope, BaseException], None]


class RetryLater(Exception):  # noqa: N818 - a request, not an error
    """Raised by a handler: the message is not failed, it comes back after ``delay_seconds``.

    The worker sends a copy with that delay (at most SQS's 900 s) and deletes the original, so the
    wait spends none of the message's receives (a dead-letter queue is for messages that fail).
    """

    def __init__(self, reason: str, delay_seconds: float) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


_QUEUE_GONE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
              "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ServiceUnavailable",
              "InternalError", "InternalFailure", "KMS.ThrottlingException"}


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def queue_gone(exc: BaseException) -> bool:
    return error_code(exc) in _QUEUE_GONE


def transient(exc: BaseException) -> bool:
    """AWS unreachable, throttling or briefly failing: worth waiting for, never worth dying of."""
    return isinstance(exc, BotoCoreError) or error_code(exc) in _THROTTLED or (
        isinstance(exc, ClientError) and exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500)


class Backoff:
    """Pauses that double from ``first`` up to ``longest``; an outage is logged once, its end too."""

    def __init__(self, first: float, longest: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.first, self.longest, self.sleep = first, longest, sleep
        self.pause = first
        self.outage: str | None = None

    def wait(self, event: str, exc: BaseException | None = None, **extra: Any) -> None:
        if self.outage != event:
            log.warning(event, extra={**extra, "error": str(exc) if exc else None,
                                      "retry_seconds": self.pause})
            self.outage = event
        self.sleep(self.pause)
        self.pause = min(self.pause * 2, self.longest)

    def ok(self, **extra: Any) -> None:
        if self.outage is not None:
            log.info("worker.recovered", extra={**extra, "after": self.outage})
        self.outage, self.pause = None, self.first


def wait_for_queue_url(sqs: Any, name: str, settings: WorkerSettings) -> str:
    """The queue's URL, waiting (with a backoff) while it or AWS is not there yet."""
    backoff = Backoff(settings.retry_first_seconds, settings.retry_max_seconds)
    while True:
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except (ClientError, BotoCoreError) as exc:
            if queue_gone(exc):
                backoff.wait("worker.waiting_for_queue", exc, queue=name)
            elif transient(exc):
                backoff.wait("worker.waiting_for_aws", exc, queue=name)
            else:
                raise
        else:
            backoff.ok(queue=name)
            return url


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
    sent_ms: int | None = None  # SQS's SentTimestamp (epoch ms): the queue lag is measured from it

    @classmethod
    def from_sqs(cls, raw: dict[str, Any]) -> Received:
        attributes = raw.get("Attributes", {})
        count = int(attributes.get("ApproximateReceiveCount", "1"))
        sent = attributes.get("SentTimestamp")
        return cls(raw["Body"], raw["ReceiptHandle"], raw["MessageId"], count,
                   int(sent) if sent and str(sent).isdigit() else None)


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
        self.queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self.backoff = Backoff(settings.retry_first_seconds, settings.retry_max_seconds)
        self.dead_letter_url = self._dead_letter_url()
        self.ticks: list[Callable[[], None]] = []  # run between polls (the processor's reconciler)
        self._stopping = False
        self._busy = False

    @classmethod
    def on_queue(cls, settings: WorkerSettings, queue_name: str, handle: Handle,
                 give_up: GiveUp | None = None) -> Worker:
        """A worker on the queue of that name, with its own SQS client."""
        sqs = aws.client("sqs", settings)
        return cls(sqs, wait_for_queue_url(sqs, queue_name, settings), handle, settings, give_up)

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
        self._tick()
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=self.settings.poll_wait_seconds,
                VisibilityTimeout=self.settings.visibility_timeout_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
        except (ClientError, BotoCoreError) as exc:
            if queue_gone(exc):
                self.backoff.wait("worker.queue_missing", exc, queue=self.queue_name)
                self._look_up_queue()
            elif transient(exc):
                self.backoff.wait("worker.aws_unavailable", exc, queue=self.queue_name)
            else:
                self.backoff.wait("worker.receive_failed", exc, queue=self.queue_name)
            return 0
        self.backoff.ok(queue=self.queue_name)
        received = [Received.from_sqs(raw) for raw in response.get("Messages", [])]
        self._busy = bool(received)
        try:
            for message in received:
                self._process(message)
        finally:
            self._busy = False
        return len(received)

    def _tick(self) -> None:
        for tick in self.ticks:
            try:
                tick()
            except Exception:  # noqa: BLE001 - a periodic chore never stops the loop
                log.exception("worker.tick_failed")

    def _look_up_queue(self) -> None:
        """The queue was deleted: its URL again once one of that name exists (a new queue may have a new URL)."""
        try:
            self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        except (ClientError, BotoCoreError):
            return  # still gone: the next poll fails and waits again
        self.dead_letter_url = self._dead_letter_url()

    def _settle(self, action: str, message: Received, **call: Any) -> bool:
        """delete_message or change_message_visibility; a receipt gone stale, or AWS away, is logged, not fatal."""
        try:
            getattr(self.sqs, action)(QueueUrl=self.queue_url, ReceiptHandle=message.receipt, **call)
        except (ClientError, BotoCoreError) as exc:
            # ReceiptHandleIsInvalid (purged, or taken by another worker after a long pause), the queue
            # deleted, AWS unreachable: SQS shows the message again later if it still exists.
            log.warning("message.settle_failed", extra={"action": action, "message_id": message.message_id,
                                                         "code": error_code(exc), "error": str(exc)})
            return False
        return True

    # -- one message --------------------------------------------------------------------------
    def _process(self, message: Received) -> None:
        if message.sent_ms is not None and message.receive_count == 1:  # the wait before its first worker
            metrics.timing(QUEUE_LAG_MS, max(0.0, time.time() * 1000 - message.sent_ms))
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
            except RetryLater as later:
                self._retry_later(message, envelope, later)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
                self._failed(message, envelope, exc)
            else:
                self._settle("delete_message", message)
                log.info("message.done", extra={"type": envelope.type, "message_id": message.message_id})

    def _retry_later(self, message: Received, envelope: Envelope, later: RetryLater) -> None:
        delay = max(0, min(int(later.delay_seconds + 0.999), 900))
        log.info("message.retry_later", extra={"type": envelope.type, "message_id": message.message_id,
                                               "reason": str(later), "delay_seconds": delay})
        try:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message.body, DelaySeconds=delay)
        except (ClientError, BotoCoreError) as exc:
            log.warning("message.retry_later_failed", extra={"message_id": message.message_id, "error": str(exc)})
            # The original then: back after the delay, though that spends one of its receives.
            self._settle("change_message_visibility", message, VisibilityTimeout=min(delay, 43200))
            return
        self._settle("delete_message", message)

    def _failed(self, message: Received, envelope: Envelope, exc: Exception) -> None:
        last = message.receive_count >= self.settings.max_receives
        metrics.count(MESSAGES_FAILED)
        if last:
            metrics.count(MESSAGES_DEAD_LETTERED)
        log.error("message.failed", exc_info=exc, extra={"type": envelope.type, "message_id": message.message_id,
                                                          "receive_count": message.receive_count, "last_try": last})
        if last and self.give_up is not None:
            try:
                self.give_up(envelope, exc)
            except Exception:  # noqa: BLE001 - the message still goes to the dead-letter queue
                log.exception("message.give_up_failed")
        # Visible again soon: a retry after a short backoff, or the move to the dead-letter queue.
        delay = 0 if last else min(2 ** message.receive_count, self.settings.visibility_timeout_seconds)
        self._settle("change_message_visibility", message, VisibilityTimeout=delay)

    def _dead_letter(self, message: Received, reason: str) -> None:
        log.error("message.invalid", extra={"reason": reason, "message_id": message.message_id,
                                            "body": message.body[:2000]})
        metrics.count(MESSAGES_DEAD_LETTERED)
        if self.dead_letter_url:
            try:
                self.sqs.send_message(
                    QueueUrl=self.dead_letter_url,
                    MessageBody=message.body,
                    MessageAttributes={"error": {"DataType": "String", "StringValue": reason[:1000]}},
                )
            except (ClientError, BotoCoreError) as exc:  # kept: it comes back and is moved then
                log.warning("message.dead_letter_failed", extra={"message_id": message.message_id,
                                                                  "error": str(exc)})
                return
        self._settle("delete_message", message)

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
        while True:
            try:
                url = self._look_up_dead_letter_url()
            except (ClientError, BotoCoreError) as exc:
                if not (queue_gone(exc) or transient(exc)):
                    raise
                self.backoff.wait("worker.waiting_for_queue", exc, queue=self.queue_name)
            else:
                self.backoff.ok(queue=self.queue_name)
                return url

    def _look_up_dead_letter_url(self) -> str | None:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            log.warning("worker.no_dead_letter_queue", extra={"queue_url": self.queue_url})
            return None
        arn = json.loads(policy)["deadLetterTargetArn"]
        account, name = arn.split(":")[4], arn.split(":")[5]
        return self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
