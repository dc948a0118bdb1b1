"""A worker's health signal: a file it touches while its loop runs.

A container health check runs ``python -m photolane_common.health FILE [--max-age S]``, which exits 0
while the file is fresh and 1 once the loop has stalled or died.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


class Heartbeat:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def beat(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        os.utime(self.path)

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def age_seconds(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 0 when a worker's heartbeat file is fresh.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--max-age", type=float, default=90.0, help="seconds (default 90)")
    args = parser.parse_args(argv)
    age = age_seconds(args.file)
    if age is None:
        sys.stderr.write(f"unhealthy: {args.file} does not exist\n")
        return 1
    if age > args.max_age:
        sys.stderr.write(f"unhealthy: last heartbeat {age:.0f} s ago\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
