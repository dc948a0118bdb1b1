"""Upload links: a URL an admin hands out so that a teacher or a parent uploads straight into one
collection from a phone, with no account and no admin token.

The code (24 random bytes, URL-safe) is shown once, when the link is made. Only its SHA-256 is kept:
the settings table's ``upload-link:<hash>`` says which collection it opens (and until when), and the
collection's record lists its links for the admin to see and revoke. A link is listed before it
works and stops working before it is unlisted, so a process killed between the two writes never
leaves a link that works and that the admin cannot see.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from photolane_common.collection import LINK_PREFIX as PREFIX
from photolane_common.collection import CollectionStore
from photolane_common.domain import UploadLink
from photolane_common.models import SettingModel

CODE = re.compile(r"[A-Za-z0-9_-]{32}")
MAX_DAYS = 366


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class UploadLinks:
    def __init__(self, collections: CollectionStore) -> None:
        self.collections = collections

    def create(self, collection_id: str, label: str, days: int | None) -> tuple[str, UploadLink] | None:
        """A new link into the collection (None: no such collection); the code is only in the answer."""
        code = secrets.token_urlsafe(24)
        digest = code_hash(code)
        now = datetime.now(UTC).replace(microsecond=0)
        link = UploadLink(digest[:16], digest, label, now, now + timedelta(days=days) if days else None)
        if self.collections.add_link(collection_id, link) is None:
            return None
        expires = int(link.expires_at.timestamp()) if link.expires_at else None
        SettingModel(PREFIX + digest, value={"collection": collection_id, "link": link.id},
                     expires_at=expires).save()
        return code, link

    def collection_of(self, code: str) -> str | None:
        """The collection a link's code opens; None when it is not a code, revoked, or expired."""
        if not CODE.fullmatch(code or ""):
            return None
        try:
            item = SettingModel.get(PREFIX + code_hash(code), consistent_read=True)
        except DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= time.time():
            return None  # expired: the table's TTL takes it away within a day or two
        collection = (item.value or {}).get("collection")
        return collection if isinstance(collection, str) and collection else None

    def revoke(self, collection_id: str, link_id: str) -> bool:
        """The link stops working at once, then leaves the collection's list; False when it is not one of
        the collection's links."""
        collection = self.collections.get(collection_id)
        link = next((link for link in collection.links if link.id == link_id), None) if collection else None
        if link is None:
            return False
        SettingModel(PREFIX + link.hash).delete()
        self.collections.remove_link(collection_id, link_id)
        return True
