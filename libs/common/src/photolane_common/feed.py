"""Change feeds: a numbered list of "this id changed", so every processor keeps its in-memory index
current with work proportional to the change, never to the whole table.

A feed lives in the settings table: a counter item (``<name>``, one atomic ADD per change) and one item
per change (``<name>#<number>``, each its own partition: no hot key), dying after ``ENTRY_DAYS`` (the
table's TTL). An entry says only which id changed; a reader reads that id's current record again, so
applying an entry twice, late or out of order gives the same result.

A writer changes the record first, then announces it. One that dies between the two leaves the record
changed and no entry: the job that made the change is delivered again (SQS), and every handler
announces again on a redelivery. One that dies between the counter and the entry leaves a hole: the
reader skips it after a while (``Mirror`` in the processor), as its change is announced again.

An erasure (a deleted photo) rewrites the entries naming it as tombstones, which name nothing: a reader
meeting one cannot know which rows changed, so it loads its index again (``ERASED``; ``Mirror`` in the
processor), from a snapshot written after the erasure or from the table.

Each feed also names its latest snapshot (``<name>:snapshot``): the index as of a number, in the
bucket, so a processor starting cold reads one object and the changes since, not the table.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.operand import Path

from . import batch_links
from .models import SettingModel

ENTRY_DAYS = 7
BATCH = 100  # BatchGetItem's limit
ERASED = ""  # what ``changes`` says of a tombstone: an entry whose id was erased (``erase_mentions``)
TOMBSTONE = {"erased": True}
_ENTRY = re.compile(r".+#\d+$")  # "<feed>#<number>"


@dataclass(frozen=True)
class Snapshot:
    number: int  # the last change it holds
    key: str  # the object in the bucket
    holes: tuple[int, ...] = ()  # changes not yet seen when it was written (to look for again)


class ChangeFeed:
    def __init__(self, name: str) -> None:
        self.name = name

    def head(self) -> int:
        """The number of the latest change (0: none yet); one consistent read."""
        try:
            return int(SettingModel.get(self.name, consistent_read=True).counter or 0)
        except DoesNotExist:
            return 0

    def announce(self, *changed_ids: str) -> int:
        """Record that these ids changed (after their records were written): one number each, taken
        with one atomic add, then their entries in one batch write. Returns the last number."""
        if not changed_ids:
            return self.head()
        counter = SettingModel(self.name)
        counter.update(actions=[SettingModel.counter.add(len(changed_ids))])
        last = int(counter.counter)
        expires = int(time.time()) + ENTRY_DAYS * 86_400
        first = last - len(changed_ids) + 1
        entries = [SettingModel(f"{self.name}#{first + i}", value={"id": changed}, expires_at=expires)
                   for i, changed in enumerate(changed_ids)]
        if len(entries) == 1:
            entries[0].save()
        else:
            with SettingModel.batch_write() as batch:
                for entry in entries:
                    batch.save(entry)
        return last

    def changes(self, numbers: Iterable[int]) -> dict[int, str]:
        """The ids changed by these numbers; a number with no entry (yet) is left out."""
        wanted = sorted(set(numbers))
        found: dict[int, str] = {}
        for start in range(0, len(wanted), BATCH):
            keys = [f"{self.name}#{n}" for n in wanted[start:start + BATCH]]
            for item in SettingModel.batch_get(keys, consistent_read=True):
                changed = (item.value or {}).get("id")
                found[int(item.key.rsplit("#", 1)[1])] = ERASED if changed is None else str(changed)
        return found

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot | None:
        try:
            value = SettingModel.get(f"{self.name}:snapshot", consistent_read=True).value or {}
        except DoesNotExist:
            return None
        return Snapshot(int(value["number"]), str(value["key"]), tuple(int(h) for h in value.get("holes", ())))

    def publish_snapshot(self, snapshot: Snapshot) -> bool:
        """Point at a newer snapshot; False when one as new or newer is already there."""
        item = SettingModel(f"{self.name}:snapshot", counter=snapshot.number,
                            value={"number": snapshot.number, "key": snapshot.key, "holes": list(snapshot.holes)})
        try:
            item.save(condition=SettingModel.key.does_not_exist() | (SettingModel.counter < snapshot.number))
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, holder: str) -> None:
        """Done writing: the next snapshot may be written by anyone (expired at once, if still ours)."""
        item = SettingModel(f"{self.name}:snapshot-lease", value={"holder": holder}, expires_at=0)
        try:
            item.save(condition=SettingModel.value == {"holder": holder})
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    def take_lease(self, holder: str, seconds: int) -> bool:
        """The right to write the next snapshot, for one processor at a time (it expires on its own)."""
        now = int(time.time())
        item = SettingModel(f"{self.name}:snapshot-lease", value={"holder": holder}, expires_at=now + seconds)
        try:
            item.save(condition=SettingModel.key.does_not_exist() | (SettingModel.expires_at < now))
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def erase_mentions(text: str) -> int:
    """Every item of the settings table naming ``text`` (an erased photo's id), found by one filtered
    scan: a feed's entry becomes a tombstone (its number stays taken, its TTL kept), a batch's link
    loses that photo (its page keeps the others), a notifier batch's members lose it (the batch keeps its
    state: a message sent or on its way is not sent again), anything else is deleted. Idempotent;
    returns how many items named it."""
    mentions = Path("key").contains(text) | Path("value").contains(text) | SettingModel.photos.contains(text)
    found = 0
    for item in SettingModel.scan(filter_condition=mentions):
        if _ENTRY.match(item.key) and isinstance(item.value, dict) and "id" in item.value:
            SettingModel(item.key, value=TOMBSTONE, expires_at=item.expires_at).save()
        elif item.photos and text in item.photos:
            item.update(actions=[SettingModel.photos.delete({text})])  # an emptied set leaves the item
        elif item.key.startswith(batch_links.PREFIX):
            batch_links.without(item, text)
        else:
            item.delete()
        found += 1
    return found
