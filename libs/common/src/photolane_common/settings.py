"""Settings: environment variables prefixed ``PHOTOLANE_``, read once into one typed object."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class CommonSettings(BaseSettings):
    """What every service needs: where AWS is and what the resources are called."""

    model_config = SettingsConfigDict(env_prefix="PHOTOLANE_", extra="ignore", frozen=True)

    region: str = Field(default_factory=_default_region)
    # boto3's own variable, so one code path serves the stand-in and real AWS.
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    bucket: str = "photolane"
    photos_table: str = "photolane-photos"
    people_table: str = "photolane-people"
    settings_table: str = "photolane-settings"
    faces_table: str = "photolane-faces"
    collections_table: str = "photolane-collections"
    jobs_queue: str = "photolane-jobs"
    notifications_queue: str = "photolane-notifications"
    events_topic: str = "photolane-events"
    email_from: str = "photolane@example.com"
    log_level: str = "INFO"
    # SMS go only to numbers of these countries (ISO 3166 codes): SMS pumping targets costly others.
    sms_countries: str = "US,CA,GB,IE,AU,NZ"
    # At most one sign-in link per email in this time: the notifier keeps it; the upload's sign-in page
    # tells a browser that asked again within it (0: no limit).
    signin_interval_seconds: int = Field(default=60, ge=0)
    # Metrics (metrics.py): the CloudWatch namespace of the EMF log lines; the local hourly counters
    # in the settings table, for the admin page (make run and compose; off on AWS: CloudWatch has them).
    metrics_namespace: str = "photolane"
    metrics_counters: bool = False
    # Photos older than this many days are erased (retention.py); none: kept forever. Read by the upload
    # service (the page says it; each record's backstop expiry) and the processor (the sweep).
    retention_days: int | None = Field(default=None, ge=1, le=36500)

    @field_validator("retention_days", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # compose's ${VAR:-}

    @property
    def sms_country_codes(self) -> frozenset[str]:
        return frozenset(c.strip().upper() for c in self.sms_countries.split(",") if c.strip())


class WorkerSettings(CommonSettings):
    """What an SQS worker adds: how it polls, how long a message stays hidden, its health file."""

    poll_wait_seconds: int = Field(default=10, ge=1, le=20)
    # Short, so a killed worker's message is taken again in seconds; extended every half of it while a job runs.
    visibility_timeout_seconds: int = Field(default=30, ge=2, le=43200)
    max_receives: int = Field(default=3, ge=1)
    health_file: Path | None = None
    health_max_age_seconds: int = Field(default=90, ge=5)
    # Waiting for a queue or AWS that is not there (yet): the first pause, doubled up to the longest.
    retry_first_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30, gt=0)
