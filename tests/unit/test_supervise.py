"""make run's supervisor with fake processes and a fake clock: backoff, its reset, giving up."""

from __future__ import annotations

import pytest

from photolane.supervise import Backoff, CannotStart, Child, describe_exit


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def child(clock: Clock, said: list[str], backoff: Backoff | None = None) -> tuple[Child, list[FakeProcess]]:
    started: list[FakeProcess] = []

    def spawn() -> FakeProcess:
        started.append(FakeProcess(len(started) + 100))
        return started[-1]

    supervised = Child("notifier", spawn, said.append, backoff or Backoff(), clock)
    supervised.start()
    return supervised, started


def die(process: FakeProcess, code: int = -9) -> None:
    process.returncode = code


def test_a_dead_process_is_restarted_after_a_doubling_backoff_up_to_the_cap(clock: Clock) -> None:
    said: list[str] = []
    supervised, started = child(clock, said, Backoff(first=1, cap=8, quick=0.5, give_up_after=99))
    delays = []
    for _ in range(6):
        clock.now += 2  # ran a little, not long enough to start the backoff over
        die(started[-1])
        supervised.tick()
        delays.append(supervised.restart_at - clock.now)
        clock.now += delays[-1] - 0.01
        assert not supervised.tick() and len(started) == len(delays)  # not yet
        clock.now += 0.01
        assert supervised.tick() and supervised.running  # restarted, on time
    assert delays == [1, 2, 4, 8, 8, 8]
    assert said[0] == "notifier died (killed by SIGKILL); restarting in 1 s"
    assert said[3] == "notifier died (killed by SIGKILL); restarting in 8 s"


def test_the_backoff_starts_over_after_a_long_enough_run(clock: Clock) -> None:
    said: list[str] = []
    supervised, started = child(clock, said, Backoff(first=1, healthy_after=60))
    for _ in range(3):
        clock.now += 20
        die(started[-1], 1)
        supervised.tick()
        clock.now = supervised.restart_at
        supervised.tick()
    assert said[-1].endswith("restarting in 4 s")
    clock.now += 61
    assert not supervised.tick()  # it has run a while: the series is over
    die(started[-1], 1)
    supervised.tick()
    assert said[-1] == "notifier died (exit 1); restarting in 1 s"


def test_repeated_deaths_right_at_start_give_up(clock: Clock) -> None:
    said: list[str] = []
    supervised, started = child(clock, said, Backoff(first=1, quick=10, give_up_after=3))
    for _ in range(2):
        clock.now += 0.5
        die(started[-1], 3)
        supervised.tick()
        clock.now = supervised.restart_at
        supervised.tick()
    clock.now += 0.5
    die(started[-1], 3)
    with pytest.raises(CannotStart, match=r"notifier died 3 times right after starting \(exit 3\); giving up"):
        supervised.tick()
    assert len(said) == 2


def test_a_death_after_a_while_breaks_the_series_of_quick_deaths(clock: Clock) -> None:
    said: list[str] = []
    supervised, started = child(clock, said, Backoff(first=1, quick=10, give_up_after=2))
    clock.now += 1
    die(started[-1], 1)
    supervised.tick()
    clock.now = supervised.restart_at
    supervised.tick()
    clock.now += 30  # this one ran: not a death at start
    die(started[-1], 1)
    supervised.tick()
    clock.now = supervised.restart_at
    supervised.tick()
    clock.now += 1
    die(started[-1], 1)
    supervised.tick()  # one quick death since the long run: go on
    clock.now = supervised.restart_at
    supervised.tick()
    clock.now += 1
    die(started[-1], 1)
    with pytest.raises(CannotStart):
        supervised.tick()  # two quick ones in a row now


def test_a_start_that_raises_counts_as_a_death_at_start_and_forgive_resets(clock: Clock) -> None:
    said: list[str] = []
    calls = []

    def spawn() -> FakeProcess:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("AWS stand-in: not ready after 30 s")
        return FakeProcess(7)

    supervised = Child("AWS stand-in", spawn, said.append, Backoff(first=1, give_up_after=3), clock)
    supervised.start()
    die(supervised.process)
    supervised.tick()
    clock.now = supervised.restart_at
    supervised.tick()
    assert said[-1] == "AWS stand-in died (could not start: AWS stand-in: not ready after 30 s); restarting in 2 s"
    supervised.forgive()
    for _ in range(2):  # a third and fourth death at start, but the first two were forgiven
        clock.now = supervised.restart_at
        supervised.tick()
    clock.now = supervised.restart_at
    with pytest.raises(CannotStart, match="3 times"):
        supervised.tick()


def test_nothing_is_restarted_once_stopping(clock: Clock) -> None:
    supervised, started = child(clock, [])
    supervised.stopping = True
    die(started[-1])
    clock.now += 100
    assert not supervised.tick() and len(started) == 1


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(2) == "exit 2"
    assert describe_exit(-200) == "killed by signal 200"


def test_the_first_delay_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOLANE_RESTART_SECONDS", "5")
    assert Backoff.from_env().delay(0) == 5 and Backoff.from_env().delay(10) == 30


def test_kill_9_right_after_the_start_is_not_a_failure_to_start(clock: Clock) -> None:
    said: list[str] = []
    supervised, started = child(clock, said, Backoff(first=1, quick=10, give_up_after=2))
    for _ in range(5):
        clock.now += 0.5
        die(started[-1], -9)
        supervised.tick()
        clock.now = supervised.restart_at
        assert supervised.tick()
    assert supervised.running and said[-1] == "notifier died (killed by SIGKILL); restarting in 16 s"
