"""Metrics: each figure is one JSON log line in CloudWatch's embedded metric format (EMF).

On AWS the tasks' log lines go to CloudWatch Logs, which turns every EMF line into metric data (no
agent, no PutMetricData grant). ``count``, ``timing`` and ``level`` write one line each, through the project's
JSON logger, so a line is also an ordinary log event (``"event": "metric"``, the service, the photo
id in hand)::

    {"ts": ..., "service": "processor", "event": "metric", "photo_id": "…",
     "_aws": {"Timestamp": 1764441600000, "CloudWatchMetrics": [{"Namespace": "photolane",
              "Dimensions": [["service", "stage"]], "Metrics": [{"Name": "StageMs", "Unit": "Milliseconds"}]}]},
     "StageMs": 41.5, "stage": "detect"}

Dimensions are few and of few values (service, reason, channel, stage, status, limit, phase): never
an id, an address or a number.

Locally (``PHOTOLANE_METRICS_COUNTERS``: ``make run``, compose) the same figures are also added to
hourly counters in the settings table, for the admin page: aggregated in memory and written by a
daemon thread every ``FLUSH_SECONDS`` (and at exit) as one ``UpdateItem ADD`` a hour, so a request
or a job never waits on DynamoDB. The counters die after ``KEEP_SECONDS`` (the table's TTL).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("photolane.metrics")
# Metric lines are the figures, not chatter: written whatever PHOTOLANE_LOG_LEVEL says.
log.setLevel(logging.INFO)

NAMESPACE = "photolane"

# -- the metrics (names and dimensions as emitted; the CDK dashboard and alarms use these) ----------------
UPLOADS_ACCEPTED = "UploadsAccepted"  # service
UPLOADS_REFUSED = "UploadsRefused"  # service, reason
RATE_LIMITED = "RateLimited"  # service, limit (uploads-client, signin-client, signin-email, admin-login)
# service, status (upload: requested, for every well-formed request; notifier: sent, no_photos, throttled,
# failed, refused)
SIGNIN_LINKS = "SigninLinks"
PHOTOS_PROCESSED = "PhotosProcessed"  # service
PHOTOS_FAILED = "PhotosFailed"  # service
STAGE_MS = "StageMs"  # service, stage (timing: the processor's per-stage milliseconds)
FACES_FOUND = "FacesFound"  # service
FACES_NAMED = "FacesNamed"  # service, phase (processing: matched as found; later: by enrollment or naming)
# service, channel (sms, email), status (sent, failed, refused, uncertain, late, deferred: an SMS made to wait
# for the deployment's SMS ceiling, counted once when it first waits)
NOTIFICATIONS = "Notifications"
SMS_SEGMENTS = "SmsSegments"  # service (what SNS bills: 160 GSM-7 or 70 UCS-2 characters a part)
# service (level, percent: the share of the day's SMS ceiling used, after each SMS counted against it)
SMS_CEILING_USED = "SmsCeilingUsed"
QUEUE_LAG_MS = "QueueLagMs"  # service (timing: a message's SentTimestamp to its first receipt)
MESSAGES_FAILED = "MessagesFailed"  # service (a handler raised: retried, or dead-lettered after the last try)
MESSAGES_DEAD_LETTERED = "MessagesDeadLettered"  # service (the last try failed, or the message is unreadable)

COUNT, MILLISECONDS, PERCENT = "Count", "Milliseconds", "Percent"
FLUSH_SECONDS = 10.0
KEEP_SECONDS = 8 * 86400
KEY_PREFIX = "metrics:"
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "_aws", "ts", "level",
                                                      "event", "photo_id"}


class Metrics:
    """``count`` and ``timing``: one EMF log line each; also the local counters when a sink is set."""

    def __init__(self, service: str = "photolane", namespace: str = NAMESPACE, sink: CounterSink | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.service, self.namespace, self.sink, self.clock = service, namespace, sink, clock

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self._emit(name, value, COUNT, dimensions)

    def timing(self, name: str, ms: float, **dimensions: str) -> None:
        self._emit(name, ms, MILLISECONDS, dimensions)

    def level(self, name: str, percent: float, **dimensions: str) -> None:
        """A share in percent, as it is now (graphed and alarmed by its Maximum); locally kept like a timing."""
        self._emit(name, percent, PERCENT, dimensions)

    def _emit(self, name: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
        try:
            dims = {"service": self.service, **{k: str(v) for k, v in dimensions.items()}}
            if name in _RESERVED or name in dims or _RESERVED & dims.keys():
                raise ValueError(f"metric {name} {sorted(dims)}: a name the log line uses already")
            now = self.clock()
            number = round(float(value), 3) if unit != COUNT else value
            line = {
                "_aws": {
                    "Timestamp": int(now * 1000),
                    "CloudWatchMetrics": [{
                        "Namespace": self.namespace,
                        "Dimensions": [list(dims)],
                        "Metrics": [{"Name": name, "Unit": unit}],
                    }],
                },
                name: number,
                **dims,
            }
            log.info("metric", extra=line)
            if self.sink is not None:
                self.sink.add(name, dims, float(value), unit != COUNT, now)
        except ValueError:
            raise
        except Exception:  # noqa: BLE001 - a figure never fails the work it measures
            logging.getLogger("photolane.metrics.errors").exception("metric.failed", extra={"metric": name})


metrics = Metrics()  # the process's metrics: configure() names the service and adds the counters


def configure(service: str, settings: Any) -> Metrics:
    """Name the service and namespace; with ``settings.metrics_counters``, add the local counters."""
    metrics.service = service
    metrics.namespace = getattr(settings, "metrics_namespace", NAMESPACE)
    if metrics.sink is not None:
        metrics.sink.close()
        metrics.sink = None
    if getattr(settings, "metrics_counters", False):
        from . import aws

        # The client is made in the process that writes (gunicorn forks its workers after this).
        metrics.sink = CounterSink(None, settings.settings_table, connect=lambda: aws.client("dynamodb", settings))
    return metrics


def sms_segments(text: str) -> int:
    """The parts an SMS is billed as: 160 GSM-7 characters (153 a part when split), else 70 UCS-2 (67)."""
    if all(ord(c) < 128 for c in text):
        return 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


# -- the local counters -------------------------------------------------------------------------------
def hour_key(moment: float) -> str:
    return KEY_PREFIX + datetime.fromtimestamp(moment, UTC).strftime("%Y%m%d%H")


def series(name: str, dims: dict[str, str]) -> str:
    """The counter's attribute name: ``StageMs|service=processor,stage=detect``."""
    return f"{name}|" + ",".join(f"{k}={v}" for k, v in sorted(dims.items()))


@dataclass
class _Tally:
    count: float = 0
    total: float = 0  # timings: the sum of the milliseconds (the count is of the events)
    peak: float | None = None  # timings: the largest


class CounterSink:
    """Hourly counters in the settings table, written in the background.

    ``add`` only adds to a dict; a daemon thread writes what gathered at most every ``flush_seconds``,
    one ``UpdateItem`` a hour (``ADD`` of each series' count, and sum for timings), plus one conditional
    write a timing whose largest value grew. A write that fails is kept and tried again next time.
    """

    def __init__(self, dynamodb: Any, table: str, flush_seconds: float = FLUSH_SECONDS,
                 clock: Callable[[], float] = time.time, start: bool = True,
                 connect: Callable[[], Any] | None = None) -> None:
        self.dynamodb, self.table, self.flush_seconds, self.clock = dynamodb, table, flush_seconds, clock
        self.connect = connect
        self.start = start
        self._lock = threading.Lock()
        self._pending: dict[str, dict[tuple[str, bool], _Tally]] = {}
        self._peaks: dict[tuple[str, str], float] = {}  # (hour, series) → the largest value written
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._failing = False
        if start:
            atexit.register(self.close)

    def add(self, name: str, dims: dict[str, str], value: float, timing: bool, moment: float) -> None:
        key = hour_key(moment)
        with self._lock:
            self._ensure_thread()
            tally = self._pending.setdefault(key, {}).setdefault((series(name, dims), timing), _Tally())
            if timing:
                tally.count += 1
                tally.total += value
                tally.peak = value if tally.peak is None else max(tally.peak, value)
            else:
                tally.count += value

    def _ensure_thread(self) -> None:
        """One flusher a process (after a fork, e.g. gunicorn's workers, the child starts its own)."""
        if not self.start or self._closed:
            return
        pid = os.getpid()
        if self._thread is not None and self._pid == pid:
            return
        if self._thread is not None:  # forked: what the parent gathered is the parent's to write
            self._pending.clear()
            if self.connect is not None:
                self.dynamodb = None  # a client is not fork-safe: this process makes its own
        self._pid = pid
        self._thread = threading.Thread(target=self._run, name="metrics-flush", daemon=True)
        self._thread.start()

    def client(self) -> Any:
        if self.dynamodb is None and self.connect is not None:
            self.dynamodb = self.connect()
        return self.dynamodb

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (at exit too)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self.flush()

    def flush(self) -> int:
        """Write what gathered; returns the writes made. Never raises (a failed hour is kept for later)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        writes = 0
        for hour, tallies in sorted(pending.items()):
            try:
                writes += self._write(hour, tallies)
            except (ClientError, BotoCoreError) as exc:
                self._keep(hour, tallies)
                if not self._failing:
                    log.warning("metrics.flush_failed", extra={"error": str(exc)})
                self._failing = True
            else:
                self._failing = False
        return writes

    def _keep(self, hour: str, tallies: dict[tuple[str, bool], _Tally]) -> None:
        with self._lock:
            into = self._pending.setdefault(hour, {})
            for key, tally in tallies.items():
                mine = into.setdefault(key, _Tally())
                mine.count += tally.count
                mine.total += tally.total
                if tally.peak is not None:
                    mine.peak = tally.peak if mine.peak is None else max(mine.peak, tally.peak)

    def _write(self, hour: str, tallies: dict[tuple[str, bool], _Tally]) -> int:
        names: dict[str, str] = {"#expires": "expires_at"}
        values: dict[str, Any] = {":expires": {"N": str(_hour_start(hour) + 3600 + KEEP_SECONDS)}}
        adds = []
        for n, ((name, timing), tally) in enumerate(sorted(tallies.items())):
            names[f"#c{n}"] = f"{name}|c"
            values[f":c{n}"] = {"N": _number(tally.count)}
            adds.append(f"#c{n} :c{n}")
            if timing:
                names[f"#s{n}"] = f"{name}|s"
                values[f":s{n}"] = {"N": _number(tally.total)}
                adds.append(f"#s{n} :s{n}")
        self.client().update_item(
            TableName=self.table, Key={"key": {"S": hour}},
            UpdateExpression="ADD " + ", ".join(adds) + " SET #expires = :expires",
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        )
        writes = 1
        for (name, timing), tally in tallies.items():
            if timing and tally.peak is not None and tally.peak > self._peaks.get((hour, name), -1.0):
                writes += self._raise_peak(hour, name, tally.peak)
        return writes

    def _raise_peak(self, hour: str, name: str, peak: float) -> int:
        try:
            self.client().update_item(
                TableName=self.table, Key={"key": {"S": hour}},
                UpdateExpression="SET #m = :m", ConditionExpression="attribute_not_exists(#m) OR #m < :m",
                ExpressionAttributeNames={"#m": f"{name}|m"}, ExpressionAttributeValues={":m": {"N": _number(peak)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        self._peaks[(hour, name)] = peak
        return 1


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _hour_start(hour: str) -> int:
    return int(datetime.strptime(hour.removeprefix(KEY_PREFIX), "%Y%m%d%H").replace(tzinfo=UTC).timestamp())


# -- reading them back (the admin page) -------------------------------------------------------------------
@dataclass
class Series:
    name: str
    dims: dict[str, str]
    count: float = 0
    total: float = 0
    peak: float | None = None

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class Figures:
    """The counters of some hours added up, one ``Series`` per metric and dimensions."""

    hours: int
    series: dict[str, Series] = field(default_factory=dict)

    def add(self, item: dict[str, Any]) -> None:
        for attribute, raw in item.items():
            head, _, kind = attribute.rpartition("|")
            if kind not in ("c", "s", "m") or "|" not in head or "N" not in raw:
                continue
            name, _, dimtext = head.partition("|")
            dims = dict(part.split("=", 1) for part in dimtext.split(",") if "=" in part)
            one = self.series.setdefault(head, Series(name, dims))
            value = float(raw["N"])
            if kind == "c":
                one.count += value
            elif kind == "s":
                one.total += value
            else:
                one.peak = value if one.peak is None else max(one.peak, value)

    def of(self, name: str, **dims: str) -> list[Series]:
        """The series of that metric whose dimensions include ``dims``."""
        return [s for s in self.series.values()
                if s.name == name and all(s.dims.get(k) == v for k, v in dims.items())]

    def total(self, name: str, **dims: str) -> float:
        return sum(s.count for s in self.of(name, **dims))

    def by(self, name: str, *keys: str) -> dict[tuple[str, ...], Series]:
        """The metric's series merged by the values of ``keys`` (e.g. reason; channel and status)."""
        out: dict[tuple[str, ...], Series] = {}
        for s in self.of(name):
            group = tuple(s.dims.get(k, "") for k in keys)
            merged = out.setdefault(group, Series(name, dict(zip(keys, group, strict=True))))
            merged.count += s.count
            merged.total += s.total
            if s.peak is not None:
                merged.peak = s.peak if merged.peak is None else max(merged.peak, s.peak)
        return dict(sorted(out.items()))

    def timing(self, name: str, **dims: str) -> Series:
        """The metric's series (matching ``dims``) merged: count, total, mean, largest."""
        merged = Series(name, dims)
        for s in self.of(name, **dims):
            merged.count += s.count
            merged.total += s.total
            if s.peak is not None:
                merged.peak = s.peak if merged.peak is None else max(merged.peak, s.peak)
        return merged


def local_figures(hours: Iterable[int] = (1, 24)) -> dict[int, Figures] | None:
    """This stack's counters (after writing this process's own), or None when they are off (on AWS)."""
    sink = metrics.sink
    if sink is None:
        return None
    sink.flush()
    return read_figures(sink.client(), sink.table, hours)


def read_figures(dynamodb: Any, table: str, hours: Iterable[int] = (1, 24),
                 clock: Callable[[], float] = time.time) -> dict[int, Figures]:
    """The counters of the last ``n`` hourly buckets (this hour and the n-1 before), for each n given."""
    wanted = sorted(set(hours))
    now = clock()
    keys = [hour_key(now - 3600 * i) for i in range(max(wanted))]
    from concurrent.futures import ThreadPoolExecutor

    def get(key: str) -> dict[str, Any]:
        return dynamodb.get_item(TableName=table, Key={"key": {"S": key}}).get("Item") or {}

    with ThreadPoolExecutor(8) as pool:
        items = list(pool.map(get, keys))
    out = {}
    for n in wanted:
        figures = Figures(n)
        for item in items[:n]:
            figures.add(item)
        out[n] = figures
    return out
