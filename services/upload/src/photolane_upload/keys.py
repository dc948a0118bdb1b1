"""The session key: from the settings, or a key file shared by every worker and instance."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from pydantic import SecretStr

from .settings import UploadSettings

log = logging.getLogger("photolane.upload")


class SessionKeyMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "PHOTOLANE_SESSION_KEY is not set: give the upload service a secret key (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or PHOTOLANE_SESSION_KEY_FILE "
            "for a file it creates once and then shares. make run and docker compose do this for you."
        )


def with_session_key(settings: UploadSettings) -> UploadSettings:
    """Settings whose session key is set, read (or first created) from the key file when needed.

    Called once in gunicorn's master, before the workers fork, so all of them sign alike.
    """
    if settings.session_key is not None or settings.session_key_file is None:
        return settings
    key = read_or_create(settings.session_key_file)
    return settings.model_copy(update={"session_key": SecretStr(key)})


def read_or_create(path: Path) -> str:
    """The key in ``path``; the first caller writes a new one (O_EXCL: concurrent starters agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        log.info("session_key.created", extra={"path": str(path)})
    for _ in range(50):  # another starter may be between its create and its write
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.1)
    raise RuntimeError(f"the session key file {path} stays empty")
