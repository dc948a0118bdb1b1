import os
import time
from pathlib import Path

from photolane_common.health import Heartbeat, main


def test_health_check_follows_the_heartbeat_file(tmp_path: Path) -> None:
    path = tmp_path / "worker.health"
    assert main([str(path)]) == 1  # no heartbeat yet
    Heartbeat(path).beat()
    assert main([str(path), "--max-age", "30"]) == 0
    stale = time.time() - 120
    os.utime(path, (stale, stale))
    assert main([str(path), "--max-age", "30"]) == 1
    Heartbeat(path).clear()
    assert not path.exists()
