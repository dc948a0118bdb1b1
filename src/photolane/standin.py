"""The AWS stand-in: moto server on 127.0.0.1, never reaching a Docker engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import requests

# moto would start Lambda and Batch jobs in Docker; point it at nothing so it never reaches one.
NO_DOCKER = "unix:///nonexistent/photolane-no-docker.sock"
STANDIN_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start_standin(port: int, log: IO[Any] | None = None, **popen: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, **STANDIN_ENV, "DOCKER_HOST": NO_DOCKER, "MOTO_PORT": str(port)}
    env.pop("AWS_ENDPOINT_URL", None)
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return subprocess.Popen(command, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, **popen)


def wait_until(check: Any, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with code {process.returncode}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


def wait_for_standin(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    # Any HTTP answer means it serves; a refused connection raises and is retried.
    wait_until(lambda: requests.get(f"{url}/moto-api/", timeout=2) is not None, timeout, f"AWS stand-in at {url}",
               process)


class StandInClient:
    """What the stand-in recorded: the SMS and emails it was asked to send."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _models(self, service: str, model: str) -> list[dict[str, Any]]:
        data = requests.get(f"{self.url}/moto-api/data.json", timeout=30).json()
        return data.get(service, {}).get(model, [])

    def sms(self) -> list[dict[str, Any]]:
        """Each: phone_number, message."""
        return self._models("sns", "SMS")

    def emails(self) -> list[dict[str, Any]]:
        """Each: source, destinations, subject, body."""
        return self._models("ses", "Message")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def log_file(folder: Path, name: str) -> IO[Any]:
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / name, "ab")
