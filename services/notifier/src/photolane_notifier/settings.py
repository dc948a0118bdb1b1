"""Settings of the notifier (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from photolane_common.domain import Channel
from photolane_common.limits import Limit
from photolane_common.settings import WorkerSettings

from .ceiling import sms_ceiling_limits


class NotifierSettings(WorkerSettings):
    health_file: Path | None = Path("/tmp/photolane-notifier.health")
    public_url: str = "http://127.0.0.1:5000"
    outbox_dir: Path | None = None
    events_topic_arn: str | None = None
    # A claim on a channel older than this, still 'sending', is from a worker that died: marked
    # uncertain, never sent again. Until then a message for that channel comes back after the lease.
    delivery_lease_seconds: int = Field(default=60, ge=5)
    # Each SMS or email send is bounded: so long to connect, so long to read, so many attempts.
    send_connect_timeout_seconds: float = Field(default=3, gt=0)
    send_read_timeout_seconds: float = Field(default=10, gt=0)
    send_attempts: int = Field(default=2, ge=1, le=5)
    # For tests only (the chaos test): after claiming a channel whose recipient matches the pattern
    # (a regular expression; empty: every one), wait this long before sending, so a kill lands there.
    fault_pause_after_claim_seconds: float = Field(default=0, ge=0)
    fault_pause_after_claim_to: str = ""
    # At most this many messages to one recipient a day (UTC), counted across every notifier task.
    sms_per_recipient_day: int = Field(default=10, ge=0)
    emails_per_recipient_day: int = Field(default=30, ge=0)  # photo notices (sign-in links apart)
    # Sign-in links, counted on their own: photo notices (anyone can upload naming any email) never
    # use them up, so an address flooded with uploads can still sign in.
    signin_links_per_recipient_day: int = Field(default=10, ge=0)
    # The deployment's SMS ceiling (ceiling.py): SMS parts a day and an hour for every recipient together,
    # derived from the month's SMS budget and the price of a part unless given (0: no ceiling). Over it an
    # SMS waits (deferred) for the window to reopen, at most sms_max_wait_seconds, then it is refused.
    sms_monthly_budget_usd: float = Field(default=1.0, ge=0)  # as the deploy's sms_monthly_limit_usd (0: none)
    sms_segment_price_usd: float = Field(default=0.00645, gt=0)  # the dearest SMS part of the countries texted
    sms_segments_per_day: int | None = Field(default=None, ge=0)  # None: derived from the budget
    sms_segments_per_hour: int | None = Field(default=None, ge=0)  # None: a quarter of the day's, rounded up
    sms_max_wait_seconds: int = Field(default=86400, ge=0)
    # Photos for one phone or email within this many seconds of the first go in one SMS and one email
    # (batching.py); 0: one message a photo. At most SQS's longest delay (the batch's flush is a delayed copy).
    batch_window_seconds: int = Field(default=120, ge=0, le=900)

    @property
    def send_bound_seconds(self) -> float:
        """The longest one send can take (every attempt timing out, and a second of backoff each)."""
        return self.send_attempts * (self.send_connect_timeout_seconds + self.send_read_timeout_seconds + 1)

    @model_validator(mode="after")
    def _sends_fit_in_the_lease(self) -> NotifierSettings:
        if self.send_bound_seconds + self.fault_pause_after_claim_seconds >= self.delivery_lease_seconds:
            raise ValueError(
                f"PHOTOLANE_DELIVERY_LEASE_SECONDS ({self.delivery_lease_seconds}) must be longer than the longest "
                f"send ({self.send_bound_seconds:g} s: attempts x (connect + read timeouts + 1)) plus the test pause")
        return self

    def daily_limit(self, channel: Channel) -> Limit:
        if channel == "sms":
            return Limit("sms-recipient", self.sms_per_recipient_day, 86400, "SMS")
        return Limit("email-recipient", self.emails_per_recipient_day, 86400, "emails")

    @property
    def sms_ceiling(self) -> tuple[Limit, Limit]:
        """The deployment's SMS ceiling: (the hour's, the day's) SMS parts, every recipient together."""
        return sms_ceiling_limits(self.sms_monthly_budget_usd, self.sms_segment_price_usd,
                                  self.sms_segments_per_day, self.sms_segments_per_hour)

    @property
    def signin_limit(self) -> Limit:
        return Limit("signin-recipient", self.signin_links_per_recipient_day, 86400, "sign-in links")
