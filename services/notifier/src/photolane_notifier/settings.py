"""Settings of the notifier (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from photolane_common.settings import WorkerSettings


class NotifierSettings(WorkerSettings):
    health_file: Path | None = Path("/tmp/photolane-notifier.health")
    public_url: str = "http://127.0.0.1:5000"
    outbox_dir: Path | None = None
    events_topic_arn: str | None = None
    # A claim on a channel older than this, still unsent, is taken to be from a worker that died.
    delivery_lease_seconds: int = Field(default=120, ge=10)
