"""Keeps the stand-in's data across runs: snapshots through the AWS APIs, restored into a fresh stand-in.

The stand-in (moto server) holds everything in memory. The keeper reads every item and object through
the AWS APIs every few seconds (``PHOTOLANE_SNAPSHOT_SECONDS``, 3) and, when something changed, writes
a backup folder (backup.py's format) under ``HOME/snap-<time>``, then points the symlink ``HOME/current``
at it (one atomic rename) and removes the previous one. Objects unchanged since the last snapshot are
hard links, not copies. At start it restores ``HOME/current`` into the stand-in, after the resources
exist and before the services start. A hard kill loses at most the changes of the last interval, and
never leaves a half-written snapshot in use.

``make run`` runs it as a thread of the launcher (src/photolane/local.py); docker compose as a service
of its own: ``python -m photolane_common.keeper /var/lib/photolane/data`` (a named volume).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from . import logs
from .backup import BackupError, Restored, check_deployment, read_contents, read_manifest, restore, write_backup
from .health import Heartbeat
from .resources import ensure_resources
from .settings import CommonSettings

log = logging.getLogger("photolane.keeper")

CURRENT = "current"


def fresh_requested() -> bool:
    return os.environ.get("PHOTOLANE_FRESH", "").strip().lower() in ("1", "true", "yes", "on")


def snapshot_interval() -> float:
    return float(os.environ.get("PHOTOLANE_SNAPSHOT_SECONDS", "3"))


class Snapshots:
    """The snapshot folders under ``home``; ``home/current`` names the last complete one."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def latest(self) -> Path | None:
        link = self.home / CURRENT
        if not link.is_symlink() and not link.is_dir():
            return None
        target = link.resolve()
        return target if (target / "manifest.json").exists() else None

    def discard(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def tidy(self) -> None:
        """Leftovers of a kill mid-snapshot: partial folders and snapshots no longer current."""
        if not self.home.is_dir():
            return
        keep = self.latest()
        for path in self.home.iterdir():
            if path.name.startswith((".tmp-", "snap-", ".current")) and path != keep:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    def write(self, settings: CommonSettings, contents: object) -> Path:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        previous = self.latest()
        stamp = time.time_ns()
        partial = self.home / f".tmp-{stamp}"
        write_backup(settings, contents, partial, previous=previous)  # type: ignore[arg-type]
        final = self.home / f"snap-{stamp}"
        os.rename(partial, final)
        link = self.home / f".current-{stamp}"
        link.symlink_to(final.name)
        os.replace(link, self.home / CURRENT)  # the one atomic step: from here on, the new snapshot counts
        _fsync_dir(self.home)
        if previous is not None and previous != final:
            shutil.rmtree(previous, ignore_errors=True)
        return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


ROUND_SHARE = 5  # a pause of at least five times the last round's length


class Keeper:
    def __init__(self, settings: CommonSettings, home: Path, interval: float | None = None,
                 heartbeat: Heartbeat | None = None) -> None:
        self.settings = settings
        self.snapshots = Snapshots(home)
        self.interval = snapshot_interval() if interval is None else interval
        self.heartbeat = heartbeat or Heartbeat(None)
        self.fingerprint: str | None = None
        self.last_written: float | None = None
        # Held by a snapshot and by a restore: a stand-in found empty is never snapshotted before its restore.
        self.lock = threading.RLock()
        self.restored = False  # no snapshot before the restore: it would replace the data with what is not yet back

    def restore(self) -> Restored | None:
        """The last snapshot into the deployment (none yet: nothing to do)."""
        with self.lock:
            self.snapshots.tidy()
            latest = self.snapshots.latest()
            if latest is None:
                log.info("keeper.nothing_to_restore", extra={"home": str(self.snapshots.home)})
                self.restored = True
                return None
            manifest = read_manifest(latest)
            restored = restore(self.settings, latest)
            self.fingerprint = manifest.get("fingerprint")
            self.restored = True
        log.info("keeper.restored", extra={"snapshot": str(latest), "items": restored.items,
                                           "objects": restored.objects_written + restored.objects_unchanged})
        return restored

    def snapshot(self) -> bool:
        """Write a snapshot when something changed since the last one; True when one was written."""
        with self.lock:
            if not self.restored:
                return False
            contents = read_contents(self.settings)
            fingerprint = contents.fingerprint()
            if fingerprint == self.fingerprint:
                return False
            if self.fingerprint is not None and contents.empty:
                # All gone at once is a stand-in that restarted empty (its resources made again by
                # someone else), not a user's doing: the data goes back, never the emptiness to disk.
                log.warning("keeper.standin_found_empty", extra={"home": str(self.snapshots.home)})
                self.restore()
                return False
            path = self.snapshots.write(self.settings, contents)
            self.fingerprint, self.last_written = fingerprint, time.time()
        log.info("keeper.snapshot_written", extra={"snapshot": str(path), "objects": len(contents.objects),
                                                   "items": {k: len(v) for k, v in contents.tables.items()}})
        return True

    def run(self, stop: threading.Event) -> None:
        """Snapshot every interval until ``stop``; a stand-in found empty (restarted) gets the data back.

        Each round reads every record to see whether anything changed; with a large library that read
        takes time, so the pause grows with it (a round at most every ROUND_SHARE times its length:
        the keeper never takes more than a fifth of a core from the photos)."""
        pause = self.interval
        while not stop.wait(pause):
            started = time.monotonic()
            try:
                self.snapshot()
                self.heartbeat.beat()
            except BackupError as exc:
                if not self._recover():
                    log.warning("keeper.snapshot_failed", extra={"error": str(exc)})
            except Exception as exc:  # noqa: BLE001 - the loop must outlive one bad round
                log.warning("keeper.snapshot_failed", extra={"error": repr(exc)})
            pause = self.next_pause(time.monotonic() - started)

    def next_pause(self, round_seconds: float) -> float:
        return max(self.interval, ROUND_SHARE * round_seconds)

    def _recover(self) -> bool:
        """The bucket or a table is gone: the stand-in restarted empty. Re-create and restore, never snapshot it."""
        try:
            check_deployment(self.settings)
            return False
        except BackupError:
            pass
        try:
            ensure_resources(self.settings)
            self.restore()
            log.warning("keeper.standin_restored", extra={"home": str(self.snapshots.home)})
            return True
        except Exception as exc:  # noqa: BLE001 - the stand-in may still be down; try next round
            log.warning("keeper.restore_failed", extra={"error": repr(exc)})
            return True

    def final(self) -> None:
        """At a clean stop, while the stand-in still answers."""
        try:
            self.snapshot()
        except Exception as exc:  # noqa: BLE001
            log.warning("keeper.final_snapshot_failed", extra={"error": repr(exc)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Restore the stand-in's data, then snapshot it until stopped.")
    parser.add_argument("home", type=Path, help="where the snapshots live (a volume)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between checks (3)")
    parser.add_argument("--health-file", type=Path, default=None, help="touched after the restore and each round")
    args = parser.parse_args(argv)
    settings = CommonSettings()
    logs.configure("keeper", settings.log_level)
    keeper = Keeper(settings, args.home, args.interval, Heartbeat(args.health_file))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if fresh_requested():
        keeper.snapshots.discard()
        log.info("keeper.fresh", extra={"home": str(args.home)})
    try:
        ensure_resources(settings)
        keeper.restore()
    except BackupError as exc:
        log.error("keeper.restore_failed", extra={"error": str(exc)})
        return 1
    keeper.heartbeat.beat()
    keeper.run(stop)
    keeper.final()
    keeper.heartbeat.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
