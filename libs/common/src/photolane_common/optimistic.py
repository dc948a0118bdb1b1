"""Read-modify-write of one DynamoDB item under its version attribute: a concurrent writer makes the
save fail its condition, and the change is made again on what that writer left."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

M = TypeVar("M", bound=Model)


def changed(model: type[M], key: str, change: Callable[[M], None], attempts: int = 5) -> M | None:
    """The item read (consistently), changed by ``change`` and saved; None when there is no such item."""
    for _ in range(attempts):
        try:
            item = model.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        change(item)
        try:
            item.save()
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                continue
            raise
        return item
    raise RuntimeError(f"{model.Meta.table_name} item {key} kept changing under {attempts} attempts")
