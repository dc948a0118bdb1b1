"""Run the processor worker: ``python -m photolane_processor``."""

from __future__ import annotations

import os

# One BLAS thread per product, set before numpy loads: the processes (one a core) and the face
# index's own search threads share the cores; BLAS's threads on top would wait on each other.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from photolane_common import audit, logs, metrics  # noqa: E402

from .bootstrap import build_worker  # noqa: E402
from .settings import ProcessorSettings  # noqa: E402


def main() -> None:
    audit.install_from_env("processor")  # PHOTOLANE_AWS_CALL_LOG set: record the AWS calls
    settings = ProcessorSettings()
    logs.configure("processor", settings.log_level)
    metrics.configure("processor", settings)  # EMF log lines; the local counters when switched on
    build_worker(settings).run()


if __name__ == "__main__":
    main()
