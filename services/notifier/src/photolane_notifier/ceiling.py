"""The deployment's SMS ceiling: SMS parts an hour and a day for every recipient together.

Per-client and per-recipient limits stop one client or one number; a client with many addresses and
many numbers passes them all, and every SMS spends the account's monthly SMS budget (SNS stops every
SMS once it is spent: for everyone, until the month ends). So the spend is paced: at most a day's share
of the month's budget a day, and at most a quarter of that an hour, counted in parts (what SNS bills),
atomically in the settings table (``Limiter``), across every notifier task::

    day  = floor(budget USD / price of a part USD / 31)      (the longest month: never over the budget)
    hour = ceil(day / 4)                                       (a burst takes at most a quarter of the day)

1 USD at 0.00645 USD a part: 155 parts a month, 5 a day, 2 an hour. Each can be given instead
(``PHOTOLANE_SMS_SEGMENTS_PER_DAY``, ``…_PER_HOUR``; 0: none). The windows are the UTC hour and day.

Over the ceiling an SMS waits (``deferred``) and goes out once its window has reopened; see
handlers.py. The email of the same photo is never held up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from photolane_common.limits import Limit, Limiter
from photolane_common.metrics import SMS_CEILING_USED, metrics

DAYS_IN_MONTH = 31  # the longest: 31 days of the day's ceiling never spend more than the month's budget
HOUR_SHARE = 4  # the hour's ceiling: the day's divided by this, rounded up
SUBJECT = "deployment"  # one counter for every recipient


def derived_day(budget_usd: float, price_usd: float) -> int:
    """SMS parts a day the month's budget pays for every day of the longest month (at least 1 with a
    budget: SNS's own monthly limit still stops the rest); 0 without a budget (no ceiling)."""
    if budget_usd <= 0:
        return 0
    # A hair under the quotient, so 1 / 0.00645 / 31 = 5.0002 gives 5 and floating point never gives one more.
    return max(1, math.floor(budget_usd / price_usd / DAYS_IN_MONTH + 1e-9))


def derived_hour(day: int) -> int:
    return math.ceil(day / HOUR_SHARE)


def sms_ceiling_limits(budget_usd: float, price_usd: float, per_day: int | None,
                       per_hour: int | None) -> tuple[Limit, Limit]:
    """(the hour's, the day's) ceiling: given values win, else derived from the budget (0: none)."""
    day = derived_day(budget_usd, price_usd) if per_day is None else per_day
    hour = derived_hour(day) if per_hour is None else per_hour
    return (Limit("sms-ceiling-hour", hour, 3600, "SMS parts"), Limit("sms-ceiling-day", day, 86400, "SMS parts"))


@dataclass(frozen=True)
class Wait:
    """Over the ceiling ``limit``: wait until ``until`` (epoch seconds: the full window's end)."""

    until: float
    limit: Limit

    @property
    def until_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.until, UTC)

    @property
    def full(self) -> str:
        return f"the deployment's SMS ceiling ({self.limit.describe()}, every recipient together) is reached"

    @property
    def reason(self) -> str:
        """What the photo says while its SMS waits."""
        when = self.until_datetime.strftime("%H:%M UTC" if self.limit.window_seconds < 86400 else "%Y-%m-%d %H:%M UTC")
        return f"{self.full}; it goes out after {when}"


class SmsCeiling:
    """Counts an SMS's parts against the hour's ceiling, then the day's. The limiter's clock is the
    ceiling's: a test moves it instead of waiting an hour."""

    def __init__(self, limiter: Limiter, hour: Limit, day: Limit) -> None:
        self.limiter, self.hour, self.day = limiter, hour, day

    def now(self) -> float:
        return self.limiter.clock()

    def take(self, segments: int) -> Wait | None:
        """Count ``segments`` parts; None: send now. The hour first: while the hour's is full the day's
        is not counted (a waiting SMS checked again spends no day it is not sent in); over the day's,
        the hour's count does not matter any more (the day's window holds the hour's)."""
        for limit in (self.hour, self.day):
            verdict = self.limiter.check(limit, SUBJECT, cost=segments)
            if limit is self.day and limit.count > 0:
                metrics.level(SMS_CEILING_USED, min(100.0, 100.0 * verdict.count / limit.count))
            if not verdict.allowed:
                return Wait(self.now() + verdict.retry_after, limit)
        return None
