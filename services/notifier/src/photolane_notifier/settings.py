"""Settings of the notifier (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from photolane_common.domain import Channel
from photolane_common.limits import Limit
from photolane_common.settings import WorkerSettings


class NotifierSettings(WorkerSettings):
    health_file: Path | None = Path("/tmp/photolane-notifier.health")
    public_url: str = "http://127.0.0.1:5000"
    outbox_dir: Path | None = None
    events_topic_arn: str | None = None
    # A claim on a channel older than this, still unsent, is taken to be from a worker that died.
    delivery_lease_seconds: int = Field(default=120, ge=10)
    # At most this many messages to one recipient a day (UTC), counted across every notifier task.
    sms_per_recipient_day: int = Field(default=10, ge=0)
    emails_per_recipient_day: int = Field(default=30, ge=0)

    def daily_limit(self, channel: Channel) -> Limit:
        if channel == "sms":
            return Limit("sms-recipient", self.sms_per_recipient_day, 86400, "SMS")
        return Limit("email-recipient", self.emails_per_recipient_day, 86400, "emails")
