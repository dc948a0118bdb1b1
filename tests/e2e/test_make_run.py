"""`make run` stopped the way a process manager stops it: a signal to make alone, not to its group."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from photolane.standin import free_port, port_in_use
from photolane.testing import ROOT, wait_for

from .conftest import launcher_children


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as in a terminal (a suite run in the background ignores it)


def test_sigint_to_make_alone_stops_the_whole_stack(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_", "MAKE"))}
    env.update({"PHOTOLANE_PORT": str(port), "PHOTOLANE_AWS_PORT": "0", "PHOTOLANE_RUN_DIR": str(tmp_path)})
    make = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=_default_sigint)
    try:
        assert make.stdout is not None
        banner = []
        for line in make.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert port_in_use(port), "".join(banner)
        launchers = launcher_children(make.pid, "photolane.local")
        assert len(launchers) == 1, (launchers, "".join(banner))
        services = [pid for module in ("photolane_upload", "photolane_processor", "photolane_notifier")
                    for pid in launcher_children(launchers[0], module)]
        assert services

        os.kill(make.pid, signal.SIGINT)  # make alone: it does not pass it on, and waits for its child
        rest = make.communicate(timeout=90)[0]
        assert "stopping the stack too" in rest and "photolane: stopped" in rest, rest[-2000:]
        wait_for(lambda: not port_in_use(port), 30, "the upload service's port to be free")
        assert not [pid for pid in [*launchers, *services] if Path(f"/proc/{pid}").exists()]
        assert not list(tmp_path.glob("*.health"))  # the workers stopped cleanly
    finally:
        for pid in launcher_children(make.pid, "photolane.local"):
            os.kill(pid, signal.SIGTERM)  # a failed test leaves nothing running (the launcher stops its services)
        if make.poll() is None:
            make.wait(60)
