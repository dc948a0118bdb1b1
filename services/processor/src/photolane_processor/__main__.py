"""Run the processor worker: ``python -m photolane_processor``."""

from __future__ import annotations

from photolane_common import logs

from .bootstrap import build_worker
from .settings import ProcessorSettings


def main() -> None:
    settings = ProcessorSettings()
    logs.configure("processor", settings.log_level)
    build_worker(settings).run()


if __name__ == "__main__":
    main()
