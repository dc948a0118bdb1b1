"""``make run``: photolane on this machine, no Docker, no cloud account.

Starts the AWS stand-in (moto server on 127.0.0.1), creates the resources, starts the three services
as processes, prints the URL, and stops everything cleanly on Ctrl-C (services first, then the
stand-in). If one service dies, the others are stopped and the exit code is non-zero.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from photolane_common.health import age_seconds
from photolane_common.resources import ensure_resources
from photolane_common.settings import CommonSettings

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

SERVICES = ("upload", "processor", "notifier")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the launcher itself is killed, so nothing is left running."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


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

    @classmethod
    def from_env(cls) -> LocalConfig:
        token = os.environ.get("PHOTOLANE_ADMIN_TOKEN") or ""
        session_key = os.environ.get("PHOTOLANE_SESSION_KEY") or ""
        run_dir = Path(os.environ.get("PHOTOLANE_RUN_DIR", ".photolane")).resolve()
        aws_port = int(os.environ.get("PHOTOLANE_AWS_PORT", "4566"))
        return cls(
            port=int(os.environ.get("PHOTOLANE_PORT", "5000")),
            aws_port=aws_port or free_port(),
            admin_token=token or secrets.token_urlsafe(24),
            token_generated=not token,
            # One key for every upload worker (gunicorn forks two): sessions hold across them.
            session_key=session_key or secrets.token_urlsafe(32),
            session_key_generated=not session_key,
            run_dir=run_dir,
            outbox_dir=Path(os.environ.get("PHOTOLANE_OUTBOX_DIR", run_dir / "outbox")).resolve(),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"


@dataclass
class Embedded:
    config: LocalConfig
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        cfg = self.config
        ports = ((cfg.port, "web", "PHOTOLANE_PORT"), (cfg.aws_port, "AWS stand-in", "PHOTOLANE_AWS_PORT"))
        for port, name, var in ports:
            if port_in_use(port):
                raise SystemExit(f"photolane: port {port} ({name}) is in use; set {var} to another port")
        standin = start_standin(cfg.aws_port, log_file(cfg.run_dir, "standin.log"), start_new_session=True,
                                preexec_fn=_die_with_parent)
        self.processes["standin"] = standin
        wait_for_standin(cfg.aws_url, standin)
        env = self._service_env()
        os.environ.update(env)  # the launcher creates the resources with the services' settings
        resources = ensure_resources(CommonSettings())
        env["PHOTOLANE_EVENTS_TOPIC_ARN"] = resources.events_topic_arn
        for service in SERVICES:
            health = cfg.run_dir / f"{service}.health"
            health.unlink(missing_ok=True)  # a stale one would look ready
            service_env = {**env, "PHOTOLANE_HEALTH_FILE": str(health)}
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"photolane_{service}"], env=service_env, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._wait_ready()

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
        })
        return env

    def _wait_ready(self) -> None:
        cfg = self.config
        wait_until(lambda: requests.get(f"{cfg.url}/healthz", timeout=2).ok, 60, "upload service",
                   self.processes["upload"])
        for service in ("processor", "notifier"):
            health = cfg.run_dir / f"{service}.health"
            wait_until(lambda path=health: age_seconds(path) is not None, 120, f"{service} worker",
                       self.processes[service])

    def crashed(self) -> str | None:
        return next((name for name, p in self.processes.items() if p.poll() is not None), None)

    def stop(self) -> None:
        """Services first (each finishes the message in hand), then the stand-in."""
        for name in SERVICES:
            if name in self.processes and self.processes[name].poll() is None:
                self.processes[name].send_signal(signal.SIGTERM)
        for name in SERVICES:
            if name in self.processes:
                stop_process(self.processes[name], timeout=30)
        if "standin" in self.processes:
            stop_process(self.processes["standin"])


def banner(cfg: LocalConfig) -> str:
    token_note = "from PHOTOLANE_ADMIN_TOKEN"
    if cfg.token_generated:
        token_note = "generated; set PHOTOLANE_ADMIN_TOKEN to choose it"
    session_note = "from PHOTOLANE_SESSION_KEY"
    if cfg.session_key_generated:
        session_note = "generated for this run; set PHOTOLANE_SESSION_KEY to keep sessions across runs"
    return "\n".join([
        f"photolane is running at {cfg.url}",
        f"  admin token:  {cfg.admin_token} ({token_note})",
        f"  session key:  {session_note}",
        f"  AWS stand-in: {cfg.aws_url} (moto server; its log in {cfg.run_dir / 'standin.log'})",
        f"  outbox:       {cfg.outbox_dir / 'events.jsonl'}",
        f"  command line: export PHOTOLANE_URL={cfg.url} AWS_ENDPOINT_URL={cfg.aws_url}; .venv/bin/photolane --help",
        "Press Ctrl-C to stop.",
    ])


def main() -> int:
    cfg = LocalConfig.from_env()
    stack = Embedded(cfg)
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
        stack.start()
        started = True
        print(banner(cfg), flush=True)
        while not stopping:
            if crashed := stack.crashed():
                print(f"photolane: the {crashed} process exited; stopping", file=sys.stderr, flush=True)
                code = 1
                break
            time.sleep(0.3)
    except (RuntimeError, TimeoutError) as exc:
        print(f"photolane: could not start: {exc}", file=sys.stderr, flush=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        print("photolane: stopping…", file=sys.stderr, flush=True)
        stack.stop()
        print("photolane: stopped", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
