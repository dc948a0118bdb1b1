"""Access to the wired adapters from inside a request."""

from __future__ import annotations

from flask import current_app

from .handlers import UploadDeps


def current_deps() -> UploadDeps:
    return current_app.extensions["photolane"]
