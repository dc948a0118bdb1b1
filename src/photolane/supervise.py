"""Keep ``make run``'s processes running: a process that dies is started again after a backoff.

The backoff doubles from ``first`` up to ``cap`` seconds and starts over once a process has run for
``healthy_after`` seconds. A process that dies ``give_up_after`` times in a row within ``quick``
seconds of its start cannot start at all: the supervisor gives up (``CannotStart``), and ``make run``
stops. A SIGKILL is not the process's own failure (``kill -9``, a test's chaos): it never counts
towards giving up. Nothing here waits: ``Child.tick`` is called from the launcher's loop with the time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Process(Protocol):
    """What the supervisor needs of a process (subprocess.Popen, or a fake in the tests)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...


class CannotStart(RuntimeError):
    """A process died again and again right after its start: restarting it will not help."""


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    cap: float = 30.0
    healthy_after: float = 60.0  # a run this long starts the backoff over
    quick: float = 10.0  # a death this soon after the start is a death "at start"
    give_up_after: int = 5  # that many deaths at start in a row: give up

    def delay(self, restarts: int) -> float:
        """Seconds before restart number ``restarts`` (0-based) of a series: 1, 2, 4 … up to cap."""
        return min(self.first * 2 ** min(restarts, 30), self.cap)

    @classmethod
    def from_env(cls) -> Backoff:
        """``PHOTOLANE_RESTART_SECONDS``: the first delay (the tests lengthen it to see a service down)."""
        first = float(os.environ.get("PHOTOLANE_RESTART_SECONDS", "1"))
        return cls(first=first, cap=max(30.0, first))


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def seconds(value: float) -> str:
    return f"{value:g} s"


class Child:
    """One supervised process.

    ``spawn`` starts it (and may raise: a start that fails counts as a death at start); ``say``
    receives the one console line of each death and restart.
    """

    def __init__(self, name: str, spawn: Callable[[], Process], say: Callable[[str], None],
                 backoff: Backoff = Backoff(), clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.spawn = spawn
        self.say = say
        self.backoff = backoff
        self.clock = clock
        self.process: Process | None = None
        self.started_at = 0.0
        self.restarts = 0  # restarts in the current series (the backoff's exponent)
        self.deaths_at_start = 0  # in a row
        self.restart_at: float | None = None
        self.stopping = False

    def start(self) -> None:
        self.process = self.spawn()
        self.started_at = self.clock()
        self.restart_at = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tick(self) -> bool:
        """Check the process; restart it when its time has come. True when it was (re)started now."""
        now = self.clock()
        if self.stopping:
            return False
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                if now - self.started_at >= self.backoff.healthy_after:
                    self.restarts = self.deaths_at_start = 0
                return False
            self.died(describe_exit(code), killed=code == -signal.SIGKILL)
            return False
        if self.restart_at is not None and now >= self.restart_at:
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - a start that fails is a death at start
                self.started_at = now
                self.died(f"could not start: {exc}")
                return False
            return True
        return False

    def died(self, how: str, killed: bool = False) -> None:
        """Record a death (seen by ``tick``, or a start that failed) and schedule the restart.

        ``killed``: by SIGKILL from outside, which says nothing about whether it can start.
        """
        now = self.clock()
        ran = now - self.started_at
        if self.process is not None:
            _kill_group(self.process)  # what it left behind (gunicorn's workers, say)
        self.process = None
        if ran >= self.backoff.healthy_after:
            self.restarts = 0
        if not killed:
            self.deaths_at_start = self.deaths_at_start + 1 if ran < self.backoff.quick else 0
        if self.deaths_at_start >= self.backoff.give_up_after:
            raise CannotStart(f"{self.name} died {self.deaths_at_start} times right after starting ({how}); "
                              "giving up")
        delay = self.backoff.delay(self.restarts)
        self.restarts += 1
        self.restart_at = now + delay
        self.say(f"{self.name} died ({how}); restarting in {seconds(delay)}")

    def forgive(self) -> None:
        """Deaths so far do not count towards giving up (they were another process's fault)."""
        self.deaths_at_start = 0


def _kill_group(process: Process) -> None:
    """Children started with start_new_session lead a process group of their own: end what is left."""
    if not isinstance(process, subprocess.Popen) or process.pid <= 1:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:  # nothing left
        pass
