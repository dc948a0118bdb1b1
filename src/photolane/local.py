"""``make run``: photolane on this machine, no Docker, no cloud account.

Starts the AWS stand-in (moto server on 127.0.0.1), creates the resources, starts the services as
processes (one processor a core: ``PHOTOLANE_PROCESSORS``), prints the URL, then one line a photo or
problem (console.py, read from the services' JSON logs in ``<run folder>/logs``), and stops
everything cleanly on Ctrl-C (services first, then the stand-in).

Every process is supervised (supervise.py): one that dies is started again after a backoff (1, 2,
4 … 30 s) and the console says so; a dead stand-in is started again and the resources re-created
(``Embedded.on_standin_started``). ``make run`` stops by itself only when a process cannot start at
all (it dies again and again right after its start), with a non-zero exit code.
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from photolane_common.backup import BackupError
from photolane_common.health import age_seconds
from photolane_common.keeper import Keeper, fresh_requested
from photolane_common.logs import JsonFormatter
from photolane_common.resources import ensure_resources
from photolane_common.settings import CommonSettings

from .console import Console, Digest, LogFollower
from .standin import (
    STANDIN_ENV,
    free_port,
    log_file,
    port_in_use,
    start_standin,
    stop_process,
    wait_for_standin,
    wait_until,
)
from .supervise import Backoff, CannotStart, Child

SERVICES = ("upload", "processor", "notifier")
LOG_ROTATE_BYTES = 20 * 1024 * 1024  # a service's log above this is moved to <name>.log.1 at start


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the launcher itself is killed, so nothing is left running."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


SIGINT_BIT = 1 << (signal.SIGINT - 1)  # in /proc/<pid>/status's SigCgt mask


def caught_signals(pid: int) -> int | None:
    """The signals a process handles itself (``SigCgt`` in /proc), or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), None)


class ParentWatch:
    """Under `make run` the launcher's parent is make, and a stop sent to make alone (a process
    manager's, ``kill -INT <make>``) never reaches the launcher: on SIGINT make resets its own handler
    and waits for its child; killed, it leaves the launcher to init. Either shows from here: the
    handler gone from make's SigCgt, or another parent."""

    def __init__(self, parent: int | None = None, read: Callable[[int], int | None] = caught_signals,
                 command: Callable[[int], str] | None = None) -> None:
        self.parent = parent if parent is not None else os.getppid()
        self.read = read
        name = (command or _command)(self.parent)
        caught = read(self.parent) if name == "make" else None
        self.watched = caught is not None and bool(caught & SIGINT_BIT)  # make, handling SIGINT itself

    def gone(self, parent_now: int | None = None) -> bool:
        """True once make was told to stop (or the launcher's parent is no longer the one it had)."""
        if (parent_now if parent_now is not None else os.getppid()) != self.parent:
            return True
        if not self.watched:
            return False
        caught = self.read(self.parent)
        return caught is None or not caught & SIGINT_BIT


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class LocalConfig:
    port: int
    aws_port: int
    admin_token: str
    token_generated: bool
    session_key: str
    session_key_generated: bool
    run_dir: Path
    outbox_dir: Path
    processors: int = 1  # processor processes (PHOTOLANE_PROCESSORS; default: one a core)
    fresh: bool = False  # PHOTOLANE_FRESH=1 (make run-fresh): the kept data is discarded, the run starts empty

    @classmethod
    def from_env(cls) -> LocalConfig:
        token = os.environ.get("PHOTOLANE_ADMIN_TOKEN") or ""
        session_key = os.environ.get("PHOTOLANE_SESSION_KEY") or ""
        run_dir = Path(os.environ.get("PHOTOLANE_RUN_DIR", ".photolane")).resolve()
        fresh = fresh_requested()
        aws_port = int(os.environ.get("PHOTOLANE_AWS_PORT", "4566"))
        return cls(
            port=int(os.environ.get("PHOTOLANE_PORT", "5000")),
            aws_port=aws_port or free_port(),
            # Generated once into the run folder and kept: the same token, and sessions that hold, next run.
            admin_token=token or kept_secret(run_dir, "admin-token", 24),
            token_generated=not token,
            # One key for every upload worker (gunicorn forks two): sessions hold across them.
            session_key=session_key or kept_secret(run_dir, "session-key", 32),
            session_key_generated=not session_key,
            run_dir=run_dir,
            outbox_dir=Path(os.environ.get("PHOTOLANE_OUTBOX_DIR", run_dir / "outbox")).resolve(),
            processors=_processors(),
            fresh=fresh,
        )

    @property
    def secrets_dir(self) -> Path:
        return secrets_dir(self.run_dir)

    @property
    def data_dir(self) -> Path:
        """The stand-in's snapshots (photolane_common.keeper): ``data/current`` is the last one."""
        return self.run_dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"


def secrets_dir(run_dir: Path) -> Path:
    return run_dir / "secrets"


def kept_secret(run_dir: Path, name: str, nbytes: int) -> str:
    """The secret in ``<run folder>/secrets/<name>``, created once (folder 0700, file 0600) and then reused."""
    folder = secrets_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if value:
            return value
        path.unlink()  # an empty file: a start killed between create and write
        return kept_secret(run_dir, name, nbytes)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(nbytes) + "\n")
    return path.read_text().strip()


def _processors() -> int:
    value = os.environ.get("PHOTOLANE_PROCESSORS") or str(os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"photolane: PHOTOLANE_PROCESSORS must be a whole number from 1, not {value!r}")
    return int(value)


@dataclass
class Embedded:
    config: LocalConfig
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    backoff: Backoff = field(default_factory=Backoff.from_env)
    children: dict[str, Child] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    keeper: Keeper | None = None  # the stand-in's data across runs: restored at start, snapshotted until the stop
    keeper_stop: threading.Event = field(default_factory=threading.Event)

    @property
    def processes(self) -> dict[str, Any]:
        """The running process of each name ("standin", "upload", "processor-1" …, "notifier")."""
        return {name: child.process for name, child in self.children.items() if child.process is not None}

    @property
    def workers(self) -> list[str]:
        return [*(f"processor-{n}" for n in range(1, self.config.processors + 1)), "notifier"]

    def start(self) -> None:
        cfg = self.config
        ports = ((cfg.port, "web", "PHOTOLANE_PORT"), (cfg.aws_port, "AWS stand-in", "PHOTOLANE_AWS_PORT"))
        for port, name, var in ports:
            if port_in_use(port):
                raise SystemExit(f"photolane: port {port} ({name}) is in use; set {var} to another port")
        cfg.log_dir.mkdir(parents=True, exist_ok=True)
        if cfg.fresh:  # on purpose: the last run's data and outbox are gone (the token and key are kept)
            shutil.rmtree(cfg.data_dir, ignore_errors=True)
            shutil.rmtree(cfg.outbox_dir, ignore_errors=True)
        self.env = self._service_env()
        os.environ.update(self.env)  # the launcher creates the resources with the services' settings
        standin = self._child("standin", self._spawn_standin)
        standin.start()
        for name in ("upload", *self.workers):
            self._health(name).unlink(missing_ok=True)  # a stale one would look ready
            self._child(name, lambda name=name: self._spawn_service(name)).start()
        self._wait_ready()
        assert self.keeper is not None
        threading.Thread(target=self.keeper.run, args=(self.keeper_stop,), name="keeper", daemon=True).start()

    def _child(self, name: str, spawn: Callable[[], Any]) -> Child:
        label = "AWS stand-in" if name == "standin" else name  # as the console says it
        self.children[name] = Child(label, spawn, lambda line: self.say(f"{time.strftime('%H:%M:%S')}  {line}"),
                                    self.backoff)
        return self.children[name]

    def _spawn_standin(self) -> subprocess.Popen[bytes]:
        """Start the stand-in and wait for it; then the resources (``on_standin_started``)."""
        cfg = self.config
        restarted = "standin" in self.children and self.children["standin"].process is None and \
            self.children["standin"].restart_at is not None
        with log_file(cfg.run_dir, "standin.log") as log:
            standin = start_standin(cfg.aws_port, log, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            wait_for_standin(cfg.aws_url, standin)
            self.on_standin_started(restarted)
        except BaseException:
            stop_process(standin)
            raise
        return standin

    def on_standin_started(self, restarted: bool) -> None:
        """Hook: the stand-in answers (started, or started again after it died, empty).

        Creates the resources (idempotent), so the services find their queues again, then restores
        the last snapshot of the stand-in's data (keeper.py) into them: at start, before the services.
        """
        if self.keeper is None:
            self.keeper = Keeper(CommonSettings(), self.config.data_dir)
            _keeper_log(self.config.log_dir)
        with self.keeper.lock:  # no snapshot of the empty stand-in between the two
            resources = ensure_resources(CommonSettings())
            self.env["PHOTOLANE_EVENTS_TOPIC_ARN"] = resources.events_topic_arn
            try:
                self.keeper.restore()
            except BackupError as exc:
                raise RuntimeError(f"the data kept in {self.config.data_dir} could not be restored: {exc} "
                                   "(make run-fresh starts empty and discards it)") from exc
        if restarted:
            for name, child in self.children.items():
                if name != "standin":
                    child.forgive()  # what died while the stand-in was away was not its own fault
            self.say(f"{time.strftime('%H:%M:%S')}  AWS stand-in back at {self.config.aws_url}; resources re-created")

    def _health(self, name: str) -> Path:
        return self.config.run_dir / f"{name}.health"

    def _spawn_service(self, name: str) -> subprocess.Popen[bytes]:
        """A service as a process of its own; its JSON log (stdout and stderr) to logs/<name>.log."""
        service = name.split("-")[0]
        self._health(name).unlink(missing_ok=True)  # a killed worker's file would look alive
        env = {**self.env, "PHOTOLANE_HEALTH_FILE": str(self._health(name))}
        with _service_log(self.config.log_dir, name) as log:
            return subprocess.Popen(
                [sys.executable, "-m", f"photolane_{service}"], env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )

    def _service_env(self) -> dict[str, str]:
        cfg = self.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(STANDIN_ENV)
        env.update({
            "AWS_ENDPOINT_URL": cfg.aws_url,
            "PHOTOLANE_PORT": str(cfg.port),
            "PHOTOLANE_HOST": "127.0.0.1",
            "PHOTOLANE_ADMIN_TOKEN": cfg.admin_token,
            "PHOTOLANE_SESSION_KEY": cfg.session_key,
            "PHOTOLANE_PUBLIC_URL": env.get("PHOTOLANE_PUBLIC_URL", cfg.url),
            "PHOTOLANE_OUTBOX_DIR": str(cfg.outbox_dir),
            # /dev/inbox and `photolane inbox`: the SMS and emails sent, read from the stand-in (local only).
            "PHOTOLANE_DEV_INBOX": "true" if inbox_on() else "false",
            # The figures of the admin page: hourly counters in the settings table (on AWS: CloudWatch's).
            "PHOTOLANE_METRICS_COUNTERS": env.get("PHOTOLANE_METRICS_COUNTERS", "true"),
            # The stand-in bills no SMS: no deployment-wide SMS ceiling unless one is asked for.
            "PHOTOLANE_SMS_MONTHLY_BUDGET_USD": env.get("PHOTOLANE_SMS_MONTHLY_BUDGET_USD", "0"),
            # A multi-file upload gets one SMS and one email, without the 2 minutes of the default window.
            "PHOTOLANE_BATCH_WINDOW_SECONDS": env.get("PHOTOLANE_BATCH_WINDOW_SECONDS", "10"),
        })
        return env

    def _wait_ready(self) -> None:
        cfg = self.config
        wait_until(lambda: requests.get(f"{cfg.url}/healthz", timeout=2).ok, 60,
                   f"upload service (its log: {cfg.log_dir / 'upload.log'})", self.children["upload"].process)
        for name in self.workers:
            health = self._health(name)
            wait_until(lambda path=health: age_seconds(path) is not None, 120,
                       f"{name} worker (its log: {cfg.log_dir / name}.log)", self.children[name].process)

    def tick(self) -> None:
        """Restart what died, the stand-in first (raises CannotStart when one cannot start at all)."""
        for child in self.children.values():
            child.tick()

    def stop(self) -> None:
        """Services first (each finishes the message in hand), then the stand-in."""
        for child in self.children.values():
            child.stopping = True  # no more restarts
        services = [child for name, child in self.children.items() if name != "standin"]
        for child in services:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in services:
            if child.process is not None:
                stop_process(child.process, timeout=30)
        self.keeper_stop.set()
        standin = self.children.get("standin")
        if self.keeper is not None and standin is not None and standin.process is not None \
                and standin.process.poll() is None:
            self.keeper.final()  # everything the services wrote, while the stand-in still answers
        if "standin" in self.children and self.children["standin"].process is not None:
            stop_process(self.children["standin"].process)


def _keeper_log(folder: Path) -> None:
    """The keeper's JSON lines (restored, snapshot written, a failure) to logs/keeper.log, beside the services'."""
    logger = logging.getLogger("photolane.keeper")
    if not logger.handlers:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / "keeper.log")
        handler.setFormatter(JsonFormatter("keeper"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _service_log(folder: Path, name: str) -> Any:
    path = folder / f"{name}.log"
    try:
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_suffix(".log.1"))
    except FileNotFoundError:
        pass
    return open(path, "ab")


def inbox_on() -> bool:
    """The local inbox (/dev/inbox): on unless PHOTOLANE_DEV_INBOX says otherwise."""
    return os.environ.get("PHOTOLANE_DEV_INBOX", "true").strip().lower() not in ("0", "false", "no", "off")


def banner(cfg: LocalConfig) -> str:
    token_note = "from PHOTOLANE_ADMIN_TOKEN"
    if cfg.token_generated:
        token_note = f"generated once, kept in {cfg.secrets_dir / 'admin-token'}; PHOTOLANE_ADMIN_TOKEN chooses it"
    session_note = "from PHOTOLANE_SESSION_KEY"
    if cfg.session_key_generated:
        session_note = f"generated once, kept in {cfg.secrets_dir / 'session-key'} (sessions hold across runs)"
    return "\n".join([
        f"photolane is running at {cfg.url}",
        f"  admin token:  {cfg.admin_token} ({token_note})",
        f"  session key:  {session_note}",
        f"  AWS stand-in: {cfg.aws_url} (moto server; its log in {cfg.run_dir / 'standin.log'})",
        f"  outbox:       {cfg.outbox_dir / 'events.jsonl'}",
        *([f"  inbox:        {cfg.url}/dev/inbox (the SMS and emails sent, sign-in links included; "
           "photolane inbox)"] if inbox_on() else []),
        f"  data:         kept in {cfg.data_dir} (a snapshot every few seconds and at Ctrl-C; "
        "make run-fresh starts empty)",
        f"  processors:   {cfg.processors} (PHOTOLANE_PROCESSORS; a service that dies is restarted)",
        f"  logs:         {cfg.log_dir}/<service>.log (JSON; make logs follows them)",
        f"  command line: export PHOTOLANE_URL={cfg.url} AWS_ENDPOINT_URL={cfg.aws_url}; .venv/bin/photolane --help",
        "Press Ctrl-C to stop. Each photo and each problem gets a line below:",
    ])


def people_in(cfg: LocalConfig) -> Callable[[str], list[str] | None]:
    """The names of a photo's people, for the console, from the API (as the admin)."""

    def names(photo_id: str) -> list[str] | None:
        answer = requests.get(f"{cfg.url}/api/photos/{photo_id}", timeout=2,
                              headers={"Authorization": f"Bearer {cfg.admin_token}"})
        if not answer.ok:
            return None
        people = [face["person"]["name"] for face in answer.json().get("faces", []) if face.get("person")]
        return list(dict.fromkeys(people))

    return names


def main() -> int:
    cfg = LocalConfig.from_env()
    console = Console()
    stack = Embedded(cfg, say=console.say)
    follower = LogFollower(cfg.log_dir, Digest(console.say, people_in(cfg)))
    parent = ParentWatch()
    started = stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if not started:
            raise KeyboardInterrupt  # leave the start-up waits at once

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        cfg.log_dir.mkdir(parents=True, exist_ok=True)
        follower.skip_existing()  # an earlier run's lines are in `make logs`, not on the console
        stack.start()
        started = True
        console.say(banner(cfg))
        follower.start()
        while not stopping:
            stack.tick()
            time.sleep(0.3)
            if parent.gone():
                print("photolane: make was stopped; stopping the stack too", file=sys.stderr, flush=True)
                break
    except CannotStart as exc:
        print(f"photolane: {exc}; stopping (see {cfg.log_dir})", file=sys.stderr, flush=True)
        code = 1
    except (RuntimeError, TimeoutError) as exc:
        print(f"photolane: could not start: {exc}", file=sys.stderr, flush=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        print("photolane: stopping…", file=sys.stderr, flush=True)
        stack.stop()
        follower.stop()  # the last photos' lines
        print("photolane: stopped", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
