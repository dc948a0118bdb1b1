"""Run the processor worker: ``python -m photolane_processor``."""

from __future__ import annotations

from photolane_common import audit, logs

from .bootstrap import build_worker
from .settings import ProcessorSettings


def main() -> None:
    audit.install_from_env("processor")  # PHOTOLANE_AWS_CALL_LOG set: record the AWS calls
    settings = ProcessorSettings()
    logs.configure("processor", settings.log_level)
    build_worker(settings).run()


if __name__ == "__main__":
    main()
