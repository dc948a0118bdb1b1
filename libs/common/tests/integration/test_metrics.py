"""The local counters (metrics.py) on a real moto server: what the admin page reads back."""

import time

from photolane.testing import Stack
from photolane_common import aws
from photolane_common import metrics as m
from photolane_common.settings import CommonSettings


def _sink(clock: float) -> tuple[m.CounterSink, m.Metrics]:
    settings = CommonSettings()
    sink = m.CounterSink(aws.client("dynamodb", settings), settings.settings_table, start=False)
    return sink, m.Metrics("processor", sink=sink, clock=lambda: clock)


def test_counts_sums_and_largest_are_kept_per_hour_and_read_back(stack: Stack) -> None:
    now = time.time()
    first, one = _sink(now)
    second, two = _sink(now)  # another process of the same stack
    one.count(m.PHOTOS_PROCESSED)
    one.timing(m.QUEUE_LAG_MS, 100)
    one.timing(m.STAGE_MS, 40, stage="detect")
    two.count(m.PHOTOS_PROCESSED, 2)
    two.count(m.PHOTOS_FAILED)
    two.timing(m.QUEUE_LAG_MS, 500)
    two.timing(m.QUEUE_LAG_MS, 20)
    first.flush()
    second.flush()
    figures = m.read_figures(first.dynamodb, CommonSettings().settings_table, (1, 24), clock=lambda: now)
    hour = figures[1]
    assert hour.total(m.PHOTOS_PROCESSED) == 3
    assert hour.total(m.PHOTOS_FAILED) == 1
    lag = hour.timing(m.QUEUE_LAG_MS)
    assert lag.count == 3 and lag.total == 620 and lag.peak == 500
    assert hour.timing(m.STAGE_MS, stage="detect").mean == 40
    assert figures[24].total(m.PHOTOS_PROCESSED) == 3


def test_the_hours_before_count_in_the_day_not_in_this_hour(stack: Stack) -> None:
    now = time.time()
    earlier, before = _sink(now - 3 * 3600)
    before.count(m.UPLOADS_ACCEPTED, 4)
    earlier.flush()
    long_ago, old = _sink(now - 30 * 3600)
    old.count(m.UPLOADS_ACCEPTED, 100)
    long_ago.flush()
    figures = m.read_figures(earlier.dynamodb, CommonSettings().settings_table, clock=lambda: now)
    assert figures[1].total(m.UPLOADS_ACCEPTED) == 0
    assert figures[24].total(m.UPLOADS_ACCEPTED) == 4


def test_counters_expire_eight_days_after_their_hour(stack: Stack) -> None:
    now = time.time()
    sink, metrics = _sink(now)
    metrics.count(m.UPLOADS_ACCEPTED)
    sink.flush()
    item = sink.dynamodb.get_item(TableName=CommonSettings().settings_table,
                                  Key={"key": {"S": m.hour_key(now)}})["Item"]
    hour_start = int(now // 3600 * 3600)
    assert int(item["expires_at"]["N"]) == hour_start + 3600 + 8 * 86400
    ttl = sink.dynamodb.describe_time_to_live(TableName=CommonSettings().settings_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_a_smaller_largest_does_not_replace_a_larger_one(stack: Stack) -> None:
    now = time.time()
    first, one = _sink(now)
    second, two = _sink(now)
    one.timing(m.QUEUE_LAG_MS, 900)
    first.flush()
    two.timing(m.QUEUE_LAG_MS, 10)
    second.flush()  # its conditional write is refused: 10 < 900
    lag = m.read_figures(first.dynamodb, CommonSettings().settings_table, (1,), clock=lambda: now)[1].timing(
        m.QUEUE_LAG_MS)
    assert lag.peak == 900 and lag.count == 2


def test_the_background_thread_writes_within_its_interval(stack: Stack) -> None:
    settings = CommonSettings()
    sink = m.CounterSink(aws.client("dynamodb", settings), settings.settings_table, flush_seconds=0.2)
    try:
        m.Metrics("upload", sink=sink).count(m.UPLOADS_ACCEPTED)
        deadline = time.monotonic() + 5
        total = 0.0
        while time.monotonic() < deadline and not total:
            time.sleep(0.1)
            total = m.read_figures(sink.dynamodb, settings.settings_table, (1,))[1].total(m.UPLOADS_ACCEPTED)
        assert total == 1
    finally:
        sink.close()


def test_configure_switches_the_counters_on_and_off(stack: Stack, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PHOTOLANE_METRICS_COUNTERS", "true")
    try:
        configured = m.configure("upload", CommonSettings())
        assert configured.sink is not None
        configured.count(m.UPLOADS_ACCEPTED)
        figures = m.local_figures()  # writes this process's figures first
        assert figures is not None and figures[1].total(m.UPLOADS_ACCEPTED) == 1
        monkeypatch.setenv("PHOTOLANE_METRICS_COUNTERS", "false")
        assert m.configure("upload", CommonSettings()).sink is None
        assert m.local_figures() is None
    finally:
        m.metrics.sink, m.metrics.service = None, "photolane"


def test_the_worker_measures_queue_lag_and_counts_failures_and_dead_letters(stack: Stack) -> None:
    from photolane_common.messages import PhotoProcessed, encode
    from photolane_common.settings import WorkerSettings
    from photolane_common.worker import Worker

    settings = WorkerSettings(poll_wait_seconds=1, max_receives=1)
    sqs = aws.client("sqs", settings)
    url = stack.resources.notifications_queue_url
    sink = m.CounterSink(aws.client("dynamodb", settings), settings.settings_table, start=False)
    saved = m.metrics.sink, m.metrics.service
    m.metrics.sink, m.metrics.service = sink, "notifier"
    try:
        def fail(_envelope: object) -> None:
            raise RuntimeError("boom")

        sqs.send_message(QueueUrl=url, MessageBody="{not json")
        Worker(sqs, url, lambda _e: None, settings).poll_once()
        sqs.send_message(QueueUrl=url, MessageBody=encode(PhotoProcessed(photo_id="p1", status="processed")))
        time.sleep(0.3)
        Worker(sqs, url, fail, settings).poll_once()
        sink.flush()
    finally:
        m.metrics.sink, m.metrics.service = saved
    figures = m.read_figures(sink.dynamodb, settings.settings_table, (1,))[1]
    lag = figures.timing(m.QUEUE_LAG_MS, service="notifier")
    assert lag.count == 2 and lag.peak is not None and lag.peak >= 250  # from SQS's SentTimestamp
    assert figures.total(m.MESSAGES_FAILED, service="notifier") == 1
    assert figures.total(m.MESSAGES_DEAD_LETTERED, service="notifier") == 2  # the last try failed; unreadable
