"""Run-time switches an admin flips, and throttles (kept in the settings table)."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist, PutError

from photolane_common.models import SettingModel

UPLOADS_BLOCKED = "uploads_blocked"


class Switches:
    def uploads_blocked(self) -> bool:
        try:
            return bool(SettingModel.get(UPLOADS_BLOCKED).value)
        except DoesNotExist:
            return False

    def set_uploads_blocked(self, blocked: bool) -> None:
        SettingModel(UPLOADS_BLOCKED, value=blocked).save()


class Throttle:
    """At most one event per key and interval, across every worker and instance (one conditional write)."""

    def allow(self, key: str, interval_seconds: int) -> bool:
        if interval_seconds <= 0:
            return True
        now = time.time()
        free = SettingModel.key.does_not_exist() | (SettingModel.counter < now)
        try:
            SettingModel(key, counter=now + interval_seconds).save(condition=free)
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True
