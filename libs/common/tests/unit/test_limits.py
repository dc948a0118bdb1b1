"""The fixed-window limiter, with an in-memory counter and a clock of the test's own."""

from photolane_common.limits import Limit, Limiter, subject_key, wait_phrase


class Counts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.expiry: dict[str, int] = {}
        self.marks: dict[str, int] = {}

    def hit(self, key: str, expires_at: int, amount: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + amount
        self.expiry[key] = expires_at
        return self.counts[key]

    def seen(self, key: str) -> bool:
        return key in self.marks

    def mark(self, key: str, expires_at: int) -> None:
        self.marks[key] = expires_at


def test_a_window_allows_its_count_then_says_how_long_to_wait() -> None:
    now = [7200.0 + 600]  # ten minutes into an hour
    limiter = Limiter(Counts(), clock=lambda: now[0])
    limit = Limit("uploads-client", 2, 3600, "uploads")
    assert [limiter.check(limit, "203.0.113.7").allowed for _ in range(3)] == [True, True, False]
    assert limiter.check(limit, "203.0.113.7").retry_after == 3000
    assert limiter.check(limit, "203.0.113.8").allowed  # another subject, another count
    now[0] = 10800.0  # the next hour
    assert limiter.check(limit, "203.0.113.7").allowed


def test_keys_hide_the_subject_and_die_after_their_window() -> None:
    counts = Counts()
    Limiter(counts, clock=lambda: 100.0).check(Limit("sms-recipient", 1, 86400, "SMS"), "+14155550123")
    (key,) = counts.counts
    assert "4155550123" not in key and key.startswith("limit:sms-recipient:")
    assert counts.expiry[key] == 86400 + 60
    assert subject_key("Me@Example.com") == subject_key("me@example.com ")


def test_zero_means_no_limit_and_the_wait_reads_as_people_say_it() -> None:
    counts = Counts()
    assert all(Limiter(counts).check(Limit("x", 0, 60, "things"), "a").allowed for _ in range(5))
    assert counts.counts == {}
    assert (wait_phrase(40), wait_phrase(1500), wait_phrase(3 * 3600)) == \
        ("in 40 seconds", "in 25 minutes", "in 3 hours")
    assert Limit("x", 10, 86400, "SMS").describe() == "10 SMS a day"


def test_an_event_may_count_for_several() -> None:
    limiter = Limiter(Counts(), clock=lambda: 3600.0 * 5 + 10)
    limit = Limit("sms-ceiling-hour", 5, 3600, "SMS parts")
    assert limiter.check(limit, "deployment", cost=3).allowed  # an SMS of three parts
    second = limiter.check(limit, "deployment", cost=3)  # 6 > 5: refused, the window is spent
    assert (second.allowed, second.count, second.retry_after) == (False, 6, 3590)


def test_distinct_items_each_count_once_a_window_and_a_refused_one_stays_refused() -> None:
    now = [7200.0]
    counts = Counts()
    limiter = Limiter(counts, clock=lambda: now[0])
    limit = Limit("unknown-line-client", 2, 3600, "numbers")
    assert limiter.check_distinct(limit, "203.0.113.7", "+14155552671").allowed
    assert limiter.check_distinct(limit, "203.0.113.7", "+14155552671").allowed  # the same number: free
    assert limiter.check_distinct(limit, "203.0.113.7", "+14155552672").allowed
    third = limiter.check_distinct(limit, "203.0.113.7", "+14155552673")
    assert not third.allowed and third.retry_after == 3600
    assert not limiter.check_distinct(limit, "203.0.113.7", "+14155552673").allowed  # not marked: refused again
    assert limiter.check_distinct(limit, "203.0.113.7", "+14155552671").allowed  # one counted before: still free
    assert limiter.check_distinct(limit, "198.51.100.1", "+14155552673").allowed  # another client
    assert all("4155552671" not in key for key in counts.marks)  # hashed, like the counters
    now[0] += 3600  # the next hour
    assert limiter.check_distinct(limit, "203.0.113.7", "+14155552673").allowed
    assert Limiter(counts).check_distinct(Limit("x", 0, 60, "things"), "a", "b").allowed  # 0: no limit
