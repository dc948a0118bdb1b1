"""The deployment's SMS ceiling: its arithmetic, its settings, and what it counts (a clock of the test's own)."""

import logging

import pytest

from photolane_common.limits import Limiter
from photolane_common.metrics import SMS_CEILING_USED
from photolane_notifier.ceiling import SmsCeiling, derived_day, derived_hour, sms_ceiling_limits
from photolane_notifier.settings import NotifierSettings


class Counts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, key: str, expires_at: int, amount: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]


@pytest.mark.parametrize(("budget", "price", "day", "hour"), [
    (1, 0.00645, 5, 2),  # the default: 155 parts a month, 5 a day (31 x 5 = 155), 2 an hour
    (10, 0.00645, 50, 13),  # 1,550 a month
    (100, 0.01, 322, 81),  # 10,000 a month: 31 x 322 = 9,982
    (1, 0.05, 1, 1),  # the budget buys under one a day: still one (SNS's monthly limit stops the rest)
    (0, 0.00645, 0, 0),  # no budget: no ceiling
])
def test_the_ceiling_comes_from_the_months_budget(budget: float, price: float, day: int, hour: int) -> None:
    assert (derived_day(budget, price), derived_hour(derived_day(budget, price))) == (day, hour)
    assert derived_day(budget, price) * 31 * price <= max(budget, price * 31)  # never over the month's budget


def test_each_ceiling_may_be_given_and_zero_is_none() -> None:
    hour, day = NotifierSettings().sms_ceiling
    assert (hour.count, hour.window_seconds, day.count, day.window_seconds) == (2, 3600, 5, 86400)
    assert day.describe() == "5 SMS parts a day" and hour.describe() == "2 SMS parts an hour"
    hour, day = NotifierSettings(sms_monthly_budget_usd=20, sms_segment_price_usd=0.04).sms_ceiling
    assert (hour.count, day.count) == (4, 16)  # 500 parts a month
    hour, day = NotifierSettings(sms_segments_per_day=100).sms_ceiling
    assert (hour.count, day.count) == (25, 100)  # the hour's follows the day's given
    hour, day = NotifierSettings(sms_segments_per_day=100, sms_segments_per_hour=100).sms_ceiling
    assert (hour.count, day.count) == (100, 100)
    hour, day = NotifierSettings(sms_monthly_budget_usd=0).sms_ceiling
    assert (hour.count, day.count) == (0, 0)
    assert sms_ceiling_limits(1, 0.00645, 0, 3)[1].count == 0  # no day's ceiling, an hour's of 3


def test_parts_are_counted_the_hour_first_and_the_window_reopens(caplog: pytest.LogCaptureFixture) -> None:
    counts = Counts()
    now = [86400.0 * 200 + 3600 * 10 + 600]  # 10:10 UTC
    ceiling = SmsCeiling(Limiter(counts, clock=lambda: now[0]), *sms_ceiling_limits(1, 1, 5, 3))
    with caplog.at_level(logging.INFO, logger="photolane.metrics"):
        assert ceiling.take(2) is None  # 2 of the hour's 3, 2 of the day's 5
        wait = ceiling.take(2)  # 4 > 3: the hour's is full
    assert wait is not None and wait.limit.name == "sms-ceiling-hour"
    assert wait.until == 86400 * 200 + 3600 * 11  # the hour's end
    assert wait.reason == ("the deployment's SMS ceiling (3 SMS parts an hour, every recipient together) "
                           "is reached; it goes out after 11:00 UTC")
    days = [v for k, v in counts.counts.items() if k.startswith("limit:sms-ceiling-day:")]
    assert days == [2]  # the refused SMS spent none of the day's
    used = [vars(r)[SMS_CEILING_USED] for r in caplog.records if SMS_CEILING_USED in vars(r)]
    assert used == [40.0]  # 2 of the day's 5, after the one counted against the day's

    now[0] += 3600  # 11:10: the next hour
    assert ceiling.take(3) is None  # 3 of this hour's, 5 of the day's 5
    wait = ceiling.take(1)
    assert wait is not None and wait.limit.name == "sms-ceiling-hour"
    now[0] += 3600  # 12:10: the hour reopens, the day's is spent
    wait = ceiling.take(1)
    assert wait is not None and wait.limit.name == "sms-ceiling-day"
    assert wait.until == 86400 * 201 and "it goes out after" in wait.reason and "00:00 UTC" in wait.reason
    now[0] = 86400 * 201 + 5  # the next day
    assert ceiling.take(1) is None


def test_no_ceiling_counts_nothing() -> None:
    counts = Counts()
    ceiling = SmsCeiling(Limiter(counts), *NotifierSettings(sms_monthly_budget_usd=0).sms_ceiling)
    assert all(ceiling.take(3) is None for _ in range(100))
    assert counts.counts == {}
