"""Serve the upload service with gunicorn: ``python -m photolane_upload``."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from photolane_common import audit, logs, metrics

from .app import create_app
from .keys import SessionKeyMissing, with_session_key
from .settings import UploadSettings


def _log_config(level: str) -> dict[str, Any]:
    """gunicorn's own log lines as JSON too (its access log is replaced by the app's)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "photolane_common.logs.JsonFormatter", "service": "upload"}},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False}},
    }


class UploadServer(BaseApplication):
    def __init__(self, settings: UploadSettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"{s.host}:{s.port}")
        self.cfg.set("workers", s.workers)
        self.cfg.set("threads", s.threads)
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", 20)
        self.cfg.set("logconfig_dict", _log_config(s.log_level.upper()))
        # gunicorn's control socket sits at one path per user: two instances would collide.
        self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        # Each worker process builds its own app and AWS clients (they are not fork-safe).
        return create_app(self.settings)


def main() -> None:
    audit.install_from_env("upload")  # PHOTOLANE_AWS_CALL_LOG set: record the AWS calls
    settings = UploadSettings()
    logs.configure("upload", settings.log_level)
    metrics.configure("upload", settings)  # EMF log lines; the local counters when switched on
    # Resolved here, in gunicorn's master, so every worker it forks signs sessions with the same key.
    settings = with_session_key(settings)
    if settings.session_key is None:
        raise SystemExit(f"photolane upload: {SessionKeyMissing()}")
    UploadServer(settings).run()


if __name__ == "__main__":
    main()
