"""Where notifications go: SNS SMS, SES email, the events topic, the outbox folder; once-only claims."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PutError

from photolane_common.models import SettingModel

from .text import Note


class SendFailed(Exception):
    """The provider refused or could not be reached; recorded on the photo as the delivery's error."""


class Sender(Protocol):
    def send(self, to: str, note: Note) -> None: ...


class SmsSender:
    def __init__(self, sns: Any) -> None:
        self.sns = sns

    def send(self, to: str, note: Note) -> None:
        try:
            self.sns.publish(
                PhoneNumber=to,
                Message=note.sms,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise SendFailed(str(exc)) from exc


class EmailSender:
    def __init__(self, ses: Any, sender: str) -> None:
        self.ses = ses
        self.sender = sender

    def send(self, to: str, note: Note) -> None:
        try:
            self.ses.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": note.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": note.text, "Charset": "UTF-8"},
                             "Html": {"Data": note.html, "Charset": "UTF-8"}},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise SendFailed(str(exc)) from exc


class EventTopic:
    """Every event, published to an SNS topic for whoever subscribes."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, event: dict[str, Any]) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(event),
            MessageAttributes={"type": {"DataType": "String", "StringValue": event["type"]}},
        )


class Outbox:
    """Events appended to ``events.jsonl`` in a folder, one JSON line each, once per key."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "events.jsonl"

    def append(self, event: dict[str, Any]) -> bool:
        line = json.dumps(event, sort_keys=True)
        with open(self.path, "a+", encoding="utf-8") as out:
            fcntl.flock(out, fcntl.LOCK_EX)  # several notifier processes may share the folder
            out.seek(0)
            if any(json.loads(seen).get("key") == event["key"] for seen in out if seen.strip()):
                return False
            out.write(line + "\n")
        return True


class Claims:
    """Once-only markers in the settings table: ``claim`` is True for exactly one caller per key."""

    def claim(self, key: str) -> bool:
        try:
            SettingModel(key, counter=int(time.time())).save(condition=SettingModel.key.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True
