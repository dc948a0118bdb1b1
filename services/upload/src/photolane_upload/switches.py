"""Run-time switches an admin flips (kept in the settings table)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

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
