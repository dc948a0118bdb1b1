"""Run the notifier worker: ``python -m photolane_notifier``."""

from __future__ import annotations

from photolane_common import logs

from .bootstrap import build_worker
from .settings import NotifierSettings


def main() -> None:
    settings = NotifierSettings()
    logs.configure("notifier", settings.log_level)
    build_worker(settings).run()


if __name__ == "__main__":
    main()
