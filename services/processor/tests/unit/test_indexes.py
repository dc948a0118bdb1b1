"""The collections' indexes a processor holds: loaded on first use, the least recently used let go past
the bound of rows (never the default collection, never the one in use)."""

import numpy as np

from photolane_processor.known import Indexes


class _Nothing:
    """Stores and a bucket never called: the indexes are filled by hand here."""


def _filled(indexes: Indexes, collection: str, rows: int) -> None:
    known = indexes.known(collection)
    known.vectors.extend((f"{collection}-{i}", 1, np.zeros(128, np.float32), None) for i in range(rows))


def test_the_least_recently_used_collections_are_let_go_past_the_bound() -> None:
    indexes = Indexes(_Nothing(), _Nothing(), _Nothing(), max_rows=250)  # type: ignore[arg-type]
    _filled(indexes, "default", 100)
    for name in ("a", "b", "c"):
        _filled(indexes, name, 100)
    assert list(indexes.held) == ["default", "b", "c"]  # a went when c came; the default stays
    indexes.known("b")  # b used again: c is now the least recently used other than the default
    _filled(indexes, "d", 100)
    assert list(indexes.held) == ["default", "b", "d"]
    assert len(indexes.mirrors(recent=1)) == 2 and indexes.mirrors(recent=1)[0].name == "people@d"
    indexes.forget("d")
    indexes.forget("default")  # never let go: a deployment without collections has only it
    assert list(indexes.held) == ["default", "b"]
