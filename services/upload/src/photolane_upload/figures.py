"""The admin page's figures: the local hourly counters (metrics.py) as rows of a small table.

On AWS the counters are off (CloudWatch has the figures, on the stack's dashboard): ``figures()``
says so instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from photolane_common import metrics as m

log = logging.getLogger("photolane.upload.figures")

HOURS = (1, 24)  # this hour, the last 24 hourly buckets


@dataclass(frozen=True)
class Row:
    id: str  # the row's id in the page (tests find it by this)
    label: str
    hour: str  # this hour
    day: str  # the last 24 hours
    sub: bool = False  # a breakdown of the row above


@dataclass(frozen=True)
class FiguresView:
    counters: bool  # False: the counters are off (AWS): see the CloudWatch dashboard
    rows: tuple[Row, ...] = ()
    stages: tuple[Row, ...] = ()  # mean ms per processing stage
    error: str | None = None  # the counters could not be read
    since: str = ""  # this hour's bucket began at (UTC)


def figures() -> FiguresView:
    try:
        read = m.local_figures(HOURS)
    except (ClientError, BotoCoreError) as exc:
        log.warning("figures.unreadable", extra={"error": str(exc)})
        return FiguresView(True, error="the counters could not be read just now; reload in a moment")
    if read is None:
        return FiguresView(False)
    hour, day = read[1], read[24]
    return FiguresView(True, tuple(_rows(hour, day)), tuple(_stages(hour, day)),
                       since=time.strftime("%H:00 UTC", time.gmtime()))


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(series: m.Series) -> str:
    return "–" if series.mean is None else f"{series.mean:,.0f} ms"


def _rows(hour: m.Figures, day: m.Figures) -> list[Row]:
    rows: list[Row] = []

    def count(id: str, label: str, name: str, **dims: str) -> None:
        rows.append(Row(id, label, _n(hour.total(name, **dims)), _n(day.total(name, **dims))))

    def breakdown(id: str, name: str, *keys: str, says: dict[str, str] | None = None) -> None:
        groups = sorted(set(day.by(name, *keys)) | set(hour.by(name, *keys)))
        for group in groups:
            dims = dict(zip(keys, group, strict=True))
            text = " ".join(group).replace("_", " ")
            rows.append(Row(f"{id}-{'-'.join(group)}", (says or {}).get(text, text),
                            _n(hour.total(name, **dims)), _n(day.total(name, **dims)), sub=True))

    count("uploads-accepted", "Uploads accepted", m.UPLOADS_ACCEPTED)
    count("uploads-refused", "Uploads refused", m.UPLOADS_REFUSED)
    breakdown("uploads-refused", m.UPLOADS_REFUSED, "reason")
    count("rate-limited", "Rate-limit refusals", m.RATE_LIMITED)
    breakdown("rate-limited", m.RATE_LIMITED, "limit")
    count("photos-processed", "Photos processed", m.PHOTOS_PROCESSED)
    count("photos-failed", "Photos failed", m.PHOTOS_FAILED)
    count("faces-found", "Faces found", m.FACES_FOUND)
    count("faces-named", "Faces named", m.FACES_NAMED)
    breakdown("faces-named", m.FACES_NAMED, "phase",
              says={"processing": "when processed", "later": "later (an enrollment, a naming)"})
    count("notifications", "Notifications", m.NOTIFICATIONS)
    breakdown("notifications", m.NOTIFICATIONS, "channel", "status")
    count("sms-segments", "SMS parts sent (billed)", m.SMS_SEGMENTS)
    count("signin-links", "Sign-in links", m.SIGNIN_LINKS)
    breakdown("signin-links", m.SIGNIN_LINKS, "status")
    count("messages-failed", "Queue messages failed (tries)", m.MESSAGES_FAILED)
    count("dead-lettered", "Queue messages dead-lettered", m.MESSAGES_DEAD_LETTERED)
    for service in sorted({s.dims.get("service", "") for s in day.of(m.QUEUE_LAG_MS)}):
        h, d = hour.timing(m.QUEUE_LAG_MS, service=service), day.timing(m.QUEUE_LAG_MS, service=service)
        rows.append(Row(f"queue-lag-{service}", f"Queue lag, {service}: mean / max",
                        _lag(h), _lag(d)))
    return rows


def _lag(series: m.Series) -> str:
    if not series.count:
        return "–"
    return f"{_ms(series)} / {series.peak or 0:,.0f} ms"


def _stages(hour: m.Figures, day: m.Figures) -> list[Row]:
    stages = sorted({s.dims.get("stage", "") for s in day.of(m.STAGE_MS)} - {"total"}) + ["total"]
    rows = []
    for stage in stages:
        h, d = hour.timing(m.STAGE_MS, stage=stage), day.timing(m.STAGE_MS, stage=stage)
        if d.count or h.count:
            rows.append(Row(f"stage-{stage}", stage, _ms(h), _ms(d)))
    return rows
