"""Run-time switches an admin flips, revoked sessions and used sign-in links (kept in the settings table)."""

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


class Revocations:
    """Sessions ended by a logout: a copy of that cookie anywhere is refused until it would expire."""

    PREFIX = "session-revoked:"

    def revoke(self, session_id: str, lifetime_seconds: int) -> None:
        SettingModel(self.PREFIX + session_id, expires_at=int(time.time()) + lifetime_seconds).save()

    def revoked(self, session_id: str) -> bool:
        try:
            SettingModel.get(self.PREFIX + session_id, attributes_to_get=["key"])
        except DoesNotExist:
            return False
        return True


class UsedLinks:
    """Sign-in links work once: the first use marks the link's nonce (kept until the link expires)."""

    PREFIX = "signin-used:"

    def use(self, nonce: str, keep_seconds: int) -> bool:
        """True for the first use of this nonce, False for every later one."""
        item = SettingModel(self.PREFIX + nonce, expires_at=int(time.time()) + keep_seconds)
        try:
            item.save(condition=SettingModel.key.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True
