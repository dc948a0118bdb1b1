"""A batch's page link items (``batch-link:<code>``) against a real DynamoDB stand-in, and an erasure's
effect on them."""

import time
import uuid

import pytest

from photolane.testing import Stack
from photolane_common.batch_links import PREFIX, BatchLinks, is_code, new_code
from photolane_common.feed import erase_mentions
from photolane_common.models import SettingModel


def test_a_link_lists_its_photos_in_order_until_it_expires(stack: Stack) -> None:
    links, code, ids = BatchLinks(), new_code(), [str(uuid.uuid4()) for _ in range(3)]
    assert is_code(code) and len(code) == 16
    links.put(code, ids, int(time.time()) + 60)
    links.put(code, ids, int(time.time()) + 60)  # again (a retry): the same item
    assert links.photos_of(code) == ids
    assert links.photos_of(new_code()) is None  # unknown
    links.put(code, ids, int(time.time()) - 1)
    assert links.photos_of(code) is None  # expired: the table's TTL may not have taken it yet


@pytest.mark.parametrize("code", ["", "short", "a" * 17, "abc/def-ghijklmn", "ÄbcdefghijklmnoP", "../../etc/passwd"])
def test_a_code_of_the_wrong_shape_is_never_looked_up(stack: Stack, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("read DynamoDB for a malformed code")

    monkeypatch.setattr(SettingModel, "get", no_read)
    assert not is_code(code) and BatchLinks().photos_of(code) is None


def test_an_erasure_takes_its_photo_out_of_a_link_and_the_link_goes_with_its_last(stack: Stack) -> None:
    links, code, ids = BatchLinks(), new_code(), [str(uuid.uuid4()) for _ in range(2)]
    expires = int(time.time()) + 600
    links.put(code, ids, expires)
    assert erase_mentions(ids[0]) == 1
    assert links.photos_of(code) == [ids[1]]  # the batch's other photo is still reachable
    assert SettingModel.get(PREFIX + code).expires_at == expires  # the link expires when it did
    assert erase_mentions(ids[0]) == 0  # idempotent
    assert erase_mentions(ids[1]) == 1
    with pytest.raises(SettingModel.DoesNotExist):
        SettingModel.get(PREFIX + code, consistent_read=True)


def test_an_erasure_takes_its_photo_out_of_a_notifier_batch_and_leaves_the_batch(stack: Stack) -> None:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    key = f"batch:sms:{uuid.uuid4().hex[:16]}:{int(time.time() * 1000)}"
    SettingModel(key, photos=set(ids), value={"status": "sent"}).save()
    assert erase_mentions(ids[0]) == 1
    batch = SettingModel.get(key, consistent_read=True)
    assert batch.photos == {ids[1]} and batch.value == {"status": "sent"}
    assert erase_mentions(ids[0]) == 0  # idempotent
    assert erase_mentions(ids[1]) == 1
    assert SettingModel.get(key, consistent_read=True).photos is None  # no id left; the batch's state stays
