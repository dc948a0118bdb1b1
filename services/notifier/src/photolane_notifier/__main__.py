"""Run the notifier worker: ``python -m photolane_notifier``."""

from __future__ import annotations

from photolane_common import audit, logs, metrics

from .bootstrap import build_worker
from .settings import NotifierSettings


def main() -> None:
    audit.install_from_env("notifier")  # PHOTOLANE_AWS_CALL_LOG set: record the AWS calls
    settings = NotifierSettings()
    logs.configure("notifier", settings.log_level)
    metrics.configure("notifier", settings)  # EMF log lines; the local counters when switched on
    build_worker(settings).run()


if __name__ == "__main__":
    main()
