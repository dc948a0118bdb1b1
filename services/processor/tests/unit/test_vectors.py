"""VectorSet against brute force (numpy norms), with small blocks so every case crosses block boundaries."""

import io
import uuid

import numpy as np
import pytest

from photolane_processor.vectors import Hit, VectorSet

_U = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
Row = tuple[str, int, np.ndarray, str | None]  # owner, slot, vector, tag


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Model:
    """What the set should hold: owner → [(slot, vector, tag)], checked by brute force."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[int, np.ndarray, str | None]]] = {}

    def flat(self) -> list[Row]:
        return [(owner, slot, vector, tag) for owner, rows in self.rows.items() for slot, vector, tag in rows]

    def distances(self, query: np.ndarray) -> dict[tuple[str, int], float]:
        rows = self.flat()
        stacked = np.stack([r[2] for r in rows]).astype(np.float64)
        found = np.linalg.norm(stacked - np.asarray(query, dtype=np.float64), axis=1)
        return {(r[0], r[1]): float(d) for r, d in zip(rows, found, strict=True)}


def _check_nearest(vectors: VectorSet, model: Model, queries: np.ndarray) -> list[Hit]:
    hits = vectors.nearest(queries)
    assert len(hits) == len(queries)
    for query, hit in zip(queries, hits, strict=True):
        assert hit is not None
        distances = model.distances(query)
        assert (hit.owner, hit.slot) in distances, f"{hit} is not a live row"
        best = min(distances.values())
        # The row found is a nearest one (ties within float32 noise allowed), at the distance reported.
        assert distances[(hit.owner, hit.slot)] == pytest.approx(best, abs=1e-3)
        assert hit.distance == pytest.approx(best, abs=1e-3)
        tags = {(o, s): t for o, s, _, t in model.flat()}
        assert hit.tag == tags[(hit.owner, hit.slot)]
    return hits


def _queries(rng: np.random.Generator, model: Model, n_random: int = 10) -> np.ndarray:
    """Random unit vectors, and every stored vector slightly moved (so each row is someone's nearest)."""
    stored = np.stack([r[2] for r in model.flat()])
    near = stored + rng.normal(scale=0.01, size=stored.shape).astype(np.float32)
    return np.concatenate([_unit(rng, n_random), near]).astype(np.float32)


def _owner(i: int) -> str:
    return str(uuid.UUID(int=(i + 1) * 7919))


def test_nearest_agrees_with_brute_force_across_blocks_after_removals_and_reinserts() -> None:
    rng = np.random.default_rng(10)
    vectors, model = VectorSet(block_rows=4), Model()
    for i in range(30):  # 1-3 rows each: 60 rows over 15 blocks
        rows = [(slot, vector, None) for slot, vector in enumerate(_unit(rng, 1 + i % 3))]
        vectors.replace(_owner(i), rows)
        model.rows[_owner(i)] = rows
    assert len(vectors) == vectors.used == 60 and len(vectors.blocks) == 15
    _check_nearest(vectors, model, _queries(rng, model))

    gone = [_owner(i) for i in range(0, 30, 3)]  # 10 owners, 1 row each (i % 3 == 0): spread over the blocks
    removed_vectors = np.stack([v for o in gone for _, v, _ in model.rows[o]])
    for owner in gone:
        assert vectors.remove(owner) == len(model.rows.pop(owner))
    assert vectors.remove(gone[0]) == 0  # twice: nothing more
    assert len(vectors) == 50 and vectors.used == 60 and len(vectors.free) == 10
    # The removed vectors themselves: never their own dead rows, at distance 0.
    hits = _check_nearest(vectors, model, removed_vectors)
    assert not {h.owner for h in hits} & set(gone)
    _check_nearest(vectors, model, _queries(rng, model))

    # Re-inserts take the freed rows first: no new row while free ones remain.
    for i in range(30, 34):  # 2 rows each: 8 of the 10 free rows
        rows = [(slot, vector, None) for slot, vector in enumerate(_unit(rng, 2))]
        vectors.replace(_owner(i), rows)
        model.rows[_owner(i)] = rows
    assert len(vectors) == 58 and vectors.used == 60 and len(vectors.free) == 2
    rows = [(slot, vector, None) for slot, vector in enumerate(_unit(rng, 5))]
    vectors.replace(_owner(40), rows)  # 2 free rows, then 3 new ones
    model.rows[_owner(40)] = rows
    assert len(vectors) == 63 and vectors.used == 63 and vectors.free == [] and len(vectors.blocks) == 16
    _check_nearest(vectors, model, _queries(rng, model))
    # A removed owner put back is found again.
    rows = [(0, removed_vectors[0], None)]
    vectors.replace(gone[0], rows)
    model.rows[gone[0]] = rows
    hit = vectors.nearest(removed_vectors[:1])[0]
    assert (hit.owner, hit.slot, hit.tag) == (gone[0], 0, None) and hit.distance < 1e-3
    _check_nearest(vectors, model, _queries(rng, model))


def test_replace_swaps_an_owners_rows() -> None:
    rng = np.random.default_rng(11)
    vectors, model = VectorSet(block_rows=4), Model()
    for i in range(6):
        rows = [(slot, vector, None) for slot, vector in enumerate(_unit(rng, 3))]
        vectors.replace(_owner(i), rows)
        model.rows[_owner(i)] = rows
    old = np.stack([v for _, v, _ in model.rows[_owner(2)]])
    new = _unit(rng, 2)
    vectors.replace(_owner(2), [(7, new[0], None), (9, new[1], None)])
    model.rows[_owner(2)] = [(7, new[0], None), (9, new[1], None)]
    assert len(vectors) == 17 and vectors.used == 18
    hits = vectors.nearest(new)
    assert [(h.owner, h.slot) for h in hits] == [(_owner(2), 7), (_owner(2), 9)]
    assert max(h.distance for h in hits) < 1e-3  # |a|²+|b|²-2a·b in float32: ~3e-4, not 0
    for hit in _check_nearest(vectors, model, old):
        assert hit.owner != _owner(2)  # the old rows are gone
    assert {h.slot for h in vectors.within(old, 1e-3)} == set()
    vectors.replace(_owner(2), [])  # no rows: the same as a removal
    del model.rows[_owner(2)]
    assert len(vectors) == 15
    _check_nearest(vectors, model, _queries(rng, model))


def _forty_owners(rng: np.random.Generator, rows_each: int, remove_every: int,
                  tagged: bool) -> tuple[VectorSet, Model]:
    """40 owners of 1 to ``rows_each`` rows in blocks of 8, every ``remove_every``-th removed again."""
    vectors, model = VectorSet(block_rows=8), Model()
    for i in range(40):
        rows = [(slot, vector, str(uuid.uuid4()) if tagged else None)
                for slot, vector in enumerate(_unit(rng, 1 + i % rows_each))]
        vectors.replace(_owner(i), rows)
        model.rows[_owner(i)] = rows
    for i in range(0, 40, remove_every):
        vectors.remove(_owner(i))
        del model.rows[_owner(i)]
    return vectors, model


@pytest.mark.parametrize("radius", [0.05, 0.5, 1.38])
def test_within_returns_exactly_the_rows_brute_force_finds_each_once(radius: float) -> None:
    rng = np.random.default_rng(12)
    vectors, model = _forty_owners(rng, rows_each=2, remove_every=4, tagged=True)
    stored = [r[2] for r in model.flat()]
    # Queries near some rows (several near the same row, so a row is near more than one query).
    queries = np.stack([stored[0] + 0.01, stored[0] - 0.01, stored[5] + 0.02, stored[17], *_unit(rng, 3)])
    queries = queries.astype(np.float32)
    hits = vectors.within(queries, radius)
    keys = [(h.owner, h.slot) for h in hits]
    assert len(keys) == len(set(keys)), "a row was returned twice"
    per_query = [model.distances(q) for q in queries]
    closest = {key: min(d[key] for d in per_query) for key in per_query[0]}
    expected = {key for key, d in closest.items() if d <= radius - 1e-4}
    unsure = {key for key, d in closest.items() if abs(d - radius) < 1e-4}  # float32 may go either way
    assert expected <= set(keys) <= expected | unsure
    assert expected, "the case should find something"
    if radius > 1:
        assert len(expected) < len(closest), "and leave something out"
    tags = {(o, s): t for o, s, _, t in model.flat()}
    for hit in hits:
        assert hit.distance == pytest.approx(closest[(hit.owner, hit.slot)], abs=1e-3)
        assert hit.tag == tags[(hit.owner, hit.slot)]


@pytest.mark.parametrize("radius", [0.05, 0.5, 1.38])
def test_near_gives_each_query_exactly_its_rows_within_the_radius_nearest_first(radius: float) -> None:
    rng = np.random.default_rng(13)
    vectors, model = _forty_owners(rng, rows_each=3, remove_every=5, tagged=False)
    stored = [r[2] for r in model.flat()]
    queries = np.stack([stored[0] + 0.01, stored[3], *_unit(rng, 2)]).astype(np.float32)
    for query, hits in zip(queries, vectors.near(queries, radius), strict=True):
        distances = model.distances(query)
        expected = {key for key, d in distances.items() if d <= radius - 1e-4}
        unsure = {key for key, d in distances.items() if abs(d - radius) < 1e-4}
        assert expected <= {(h.owner, h.slot) for h in hits} <= expected | unsure
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
        for hit in hits:
            assert hit.distance == pytest.approx(distances[(hit.owner, hit.slot)], abs=1e-3)
    assert vectors.near(queries[1:2], 0.02)[0], "the case should find something"


def _all_hits(vectors: VectorSet, stored: np.ndarray) -> set[tuple[str, int, str | None]]:
    """Every live row, through the public API: within a hair of the vectors stored."""
    hits = vectors.within(stored, 1e-3)
    return {(h.owner, h.slot, h.tag) for h in hits}


def _live_rows(vectors: VectorSet) -> set[tuple[str | None, int, str | None, bytes]]:
    found = set()
    for number, block in enumerate(vectors.blocks):
        for i in np.flatnonzero(np.isfinite(block.norms[:vectors.used - number * vectors.block_rows])):
            key = block.keys[i]
            found.add((vectors.ids.decode(key["owner_hi"], key["owner_lo"]), int(key["slot"]),
                       vectors.ids.decode(key["tag_hi"], key["tag_lo"]), block.values(i).tobytes()))
    return found


def _dumped(vectors: VectorSet, meta: dict | None = None) -> bytes:
    out = io.BytesIO()
    assert vectors.dump(out, meta or {}) == len(vectors)
    return out.getvalue()


def test_dump_load_round_trip_keeps_the_live_rows_and_only_them() -> None:
    rng = np.random.default_rng(13)
    vectors, model = VectorSet(block_rows=4), Model()
    owners = ["ann", "P-1", str(uuid.uuid4()), str(uuid.uuid4()).upper(), "bob", str(uuid.uuid4()), "C-3"]
    for i, owner in enumerate(owners):
        tags = [str(uuid.uuid4()), None, f"cluster-{i}"]
        rows = [(slot * 10, vector, tags[slot % 3]) for slot, vector in enumerate(_unit(rng, 3))]
        vectors.replace(owner, rows)
        model.rows[owner] = rows
    vectors.remove("bob")
    del model.rows["bob"]
    vectors.replace("ann", model.rows["ann"][:1])  # 2 dead rows, one live
    model.rows["ann"] = model.rows["ann"][:1]
    assert len(vectors) == 16 and vectors.used == 21

    loaded, meta = VectorSet.load(io.BytesIO(_dumped(vectors, {"index": "people", "number": 42})), block_rows=3)
    assert meta == {"index": "people", "number": 42}
    assert len(loaded) == loaded.used == 16 and loaded.free == []  # the dead rows are not written
    stored = np.stack([r[2] for r in model.flat()])
    expected = {(o, s, t) for o, s, _, t in model.flat()}
    assert _all_hits(loaded, stored) == _all_hits(vectors, stored) == expected
    for (owner, slot, _, tag), hit in zip(model.flat(), loaded.nearest(stored), strict=True):
        assert (hit.owner, hit.slot, hit.tag) == (owner, slot, tag) and hit.distance < 1e-3
    # The vectors themselves, bit for bit (read from the blocks: the live rows' columns).
    assert _live_rows(loaded) == _live_rows(vectors) == {(o, s, t, v.tobytes()) for o, s, v, t in model.flat()}
    _check_nearest(loaded, model, _queries(rng, model))

    # The loaded set changes like any other: non-UUID owners are still the same owners.
    assert loaded.remove("P-1") == 3
    del model.rows["P-1"]
    loaded.replace("ann", [(5, stored[0], "t")])
    model.rows["ann"] = [(5, stored[0], "t")]
    assert len(loaded) == 13 and loaded.used == 16
    _check_nearest(loaded, model, _queries(rng, model))


def test_an_empty_set_round_trips() -> None:
    for vectors in (VectorSet(block_rows=4), _emptied()):
        loaded, meta = VectorSet.load(io.BytesIO(_dumped(vectors, {"n": 1})), block_rows=4)
        assert len(loaded) == 0 and meta == {"n": 1}
        assert loaded.nearest(np.ones((2, 128))) == [None, None]


def _emptied() -> VectorSet:
    vectors = VectorSet(block_rows=4)
    vectors.extend(("a", i, v, None) for i, v in enumerate(_unit(np.random.default_rng(14), 6)))
    vectors.remove("a")
    return vectors


def test_a_set_whose_first_block_is_all_dead_round_trips() -> None:
    vectors_in = _unit(np.random.default_rng(15), 8)
    vectors = VectorSet(block_rows=4)
    vectors.extend([("a", i, vectors_in[i], None) for i in range(4)] + [("b", i, vectors_in[4 + i], None)
                                                                        for i in range(4)])
    vectors.remove("a")  # block 0: every row dead; block 1: 4 live rows
    loaded, _ = VectorSet.load(io.BytesIO(_dumped(vectors)), block_rows=4)
    assert len(loaded) == 4
    assert _all_hits(loaded, vectors_in[4:]) == {("b", i, None) for i in range(4)}


def _sample_dump() -> bytes:
    vectors = VectorSet(block_rows=4)
    vectors.extend(("ann", i, v, str(uuid.uuid4())) for i, v in enumerate(_unit(np.random.default_rng(16), 10)))
    return _dumped(vectors, {"index": "x"})


def test_load_rejects_a_truncated_snapshot() -> None:
    data = _sample_dump()
    header = data.index(b"\n") + 1
    for size in [0, header // 2, header, header + 4, header + 8, header + 8 + 40, len(data) // 2, len(data) - 8,
                 len(data) - 1]:
        with pytest.raises(ValueError):
            VectorSet.load(io.BytesIO(data[:size]))
    assert len(VectorSet.load(io.BytesIO(data))[0]) == 10


@pytest.mark.parametrize("data", [
    b"",
    b"junk",
    b"junk\n" + b"\0" * 64,
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
    b'{"format": "something-else", "version": 1}\n',
    b'{"format": "photolane-vectors", "version": 2, "rows": 0, "meta": {}, "others": []}\n' + b"\0" * 8,
    b"42\n",  # JSON, but not an object
    b"[]\n",
    b'{"format": "photolane-vectors", "version": 1}\n' + b"\0" * 8,  # the right format, fields missing
], ids=["empty", "word", "word-zeros", "png", "jpeg", "other-format", "other-version", "json-number",
        "json-list", "header-missing-fields"])
def test_load_rejects_a_foreign_file_with_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        VectorSet.load(io.BytesIO(data))


@pytest.mark.parametrize("owner", [
    "ann", "P-1", "person 1 ☺", "x" * 300, str(uuid.UUID(_U)).upper(), "{" + str(uuid.UUID(_U)) + "}",
    "urn:uuid:" + str(uuid.UUID(_U)), str(uuid.UUID(_U)).replace("-", ""),
    "",
    str(uuid.UUID(int=0)),  # the nil UUID: not the "no id" key
])
def test_owners_that_are_not_canonical_uuids_round_trip(owner: str) -> None:
    rng = np.random.default_rng(17)
    rows = _unit(rng, 3)
    vectors = VectorSet(block_rows=2)
    vectors.replace(str(uuid.UUID(_U)), [(0, rows[0], None)])  # the canonical form is another owner
    vectors.replace(owner, [(1, rows[1], owner), (2, rows[2], None)])
    assert [(h.owner, h.slot, h.tag) for h in vectors.nearest(rows)] == [
        (str(uuid.UUID(_U)), 0, None), (owner, 1, owner), (owner, 2, None)]
    loaded, _ = VectorSet.load(io.BytesIO(_dumped(vectors)))
    assert [(h.owner, h.slot, h.tag) for h in loaded.nearest(rows)] == [
        (str(uuid.UUID(_U)), 0, None), (owner, 1, owner), (owner, 2, None)]
    assert loaded.remove(owner) == 2 and len(loaded) == 1


def test_uuid_tags_round_trip() -> None:
    rng = np.random.default_rng(18)
    rows = _unit(rng, 20)
    tags = [str(uuid.uuid4()) for _ in range(10)] + [None] * 5 + ["ann", "P-1", "c", "d", "e"]
    vectors = VectorSet(block_rows=8)
    vectors.extend((str(uuid.uuid4()), i, row, tag) for i, (row, tag) in enumerate(zip(rows, tags, strict=True)))
    assert [h.tag for h in vectors.nearest(rows)] == tags
    loaded, _ = VectorSet.load(io.BytesIO(_dumped(vectors)))
    assert [h.tag for h in loaded.nearest(rows)] == tags
    assert sorted(h.slot for h in loaded.within(rows, 1e-3)) == list(range(20))


def test_an_empty_set_has_no_nearest() -> None:
    queries = _unit(np.random.default_rng(19), 3)
    assert VectorSet(block_rows=4).nearest(queries) == [None, None, None]
    assert VectorSet(block_rows=4).within(queries, 2.0) == []
    emptied = _emptied()  # rows handed out, all dead
    assert len(emptied) == 0 and emptied.used == 6
    assert emptied.nearest(queries) == [None, None, None]
    assert emptied.within(queries, 10.0) == []


def test_removing_one_owner_of_100k_rows_touches_only_its_rows() -> None:
    rng = np.random.default_rng(20)
    n, owners = 100_000, 25_000
    stored = rng.random((n, 128), dtype=np.float32) - np.float32(0.5)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    names = [str(uuid.UUID(int=i + 1)) for i in range(owners)]
    vectors = VectorSet(block_rows=8192)
    # Row r is owner r % owners, slot r // owners: each owner has 4 rows, in 4 different blocks.
    vectors.extend((names[r % owners], r // owners, stored[r], None) for r in range(n))
    assert len(vectors) == n and len(vectors.blocks) == 13
    target = 1234
    theirs = [target + k * owners for k in range(4)]
    others = rng.choice(np.setdiff1d(np.arange(n), theirs), size=100, replace=False)
    queries = stored[others] + rng.normal(scale=0.01, size=(100, 128)).astype(np.float32)
    before_hits = vectors.nearest(queries)
    before = [(b.norms.copy(), b.keys.copy(), b.vectors.copy()) for b in vectors.blocks]

    assert vectors.remove(names[target]) == 4
    assert len(vectors) == n - 4 and vectors.used == n
    assert sorted(vectors.free) == theirs
    for number, (block, (norms, keys, vecs)) in enumerate(zip(vectors.blocks, before, strict=True)):
        key_bytes = block.keys.view(np.uint8).reshape(8192, -1) != keys.view(np.uint8).reshape(8192, -1)
        changed = np.flatnonzero((block.norms != norms) | key_bytes.any(axis=1))
        assert [number * 8192 + int(i) for i in changed] == [r for r in theirs if r // 8192 == number]
        assert np.isinf(block.norms[changed]).all()
        assert set(np.flatnonzero((block.vectors != vecs).any(axis=0))) <= set(changed)
    assert vectors.nearest(queries) == before_hits  # every other row's hits unchanged
    assert [(h.owner, h.slot) for h in before_hits] == [(names[r % owners], r // owners) for r in others]
    # Its own vectors now find the nearest of the rest (brute force), never a dead row.
    norms = np.einsum("ij,ij->i", stored, stored)
    for row, hit in zip(theirs, vectors.nearest(stored[theirs]), strict=True):
        distances = np.sqrt(np.maximum(norms + norms[row] - 2 * (stored @ stored[row]), 0))
        distances[theirs] = np.inf
        best = float(distances.min())
        assert hit.owner != names[target]
        assert hit.distance == pytest.approx(best, abs=1e-3)
        assert distances[int(hit.owner.replace("-", ""), 16) - 1 + hit.slot * owners] == pytest.approx(best, abs=1e-3)


def test_from_arrays_builds_the_same_set_as_extend() -> None:
    rng = np.random.default_rng(21)
    stored = _unit(rng, 23)
    owners = [_owner(i % 7) for i in range(23)]
    owners[3] = "ann"
    slots = np.arange(23, dtype=np.int32)
    tags = [str(uuid.uuid4()) if i % 3 else None for i in range(23)]
    tags[4] = "cluster-x"
    built = VectorSet.from_arrays(owners, slots, stored.astype(np.float64), tags, block_rows=8)
    extended = VectorSet(block_rows=8)
    extended.extend(zip(owners, slots.tolist(), stored, tags, strict=True))
    assert len(built) == built.used == 23 and len(built.blocks) == 3
    assert _live_rows(built) == _live_rows(extended)
    queries = np.concatenate([stored + 0.01, _unit(rng, 5)])
    assert [(h.owner, h.slot, h.tag) for h in built.nearest(queries)] == [
        (h.owner, h.slot, h.tag) for h in extended.nearest(queries)]
    untagged = VectorSet.from_arrays(owners, slots, stored, block_rows=8)
    assert {h.tag for h in untagged.within(stored, 1e-3)} == {None}
    assert built.remove(_owner(1)) == 4 and len(built) == 19  # rows 1, 8, 15, 22: it changes like any other


def test_from_arrays_with_no_rows_is_an_empty_set() -> None:
    built = VectorSet.from_arrays([], np.zeros(0, dtype=np.int32), np.zeros((0, 128), dtype=np.float32), block_rows=4)
    assert len(built) == 0 and built.nearest(np.ones((1, 128))) == [None]


def test_vector_of_gives_a_hits_row_vector() -> None:
    rng = np.random.default_rng(22)
    stored = _unit(rng, 11)
    vectors = VectorSet(block_rows=4)
    vectors.extend((_owner(i), 0, v, None) for i, v in enumerate(stored))
    vectors.remove(_owner(2))
    hits = vectors.within(stored + 0.001, 0.1) + [h for h in vectors.nearest(stored + 0.001) if h]
    assert {h.owner for h in hits} == {_owner(i) for i in range(11) if i != 2}
    for hit in hits:
        i = [_owner(k) for k in range(11)].index(hit.owner)
        assert np.array_equal(vectors.vector_of(hit), stored[i])
    assert {h.row for h in vectors.within(stored, 1e-3)} == set(range(11)) - {2}


def test_a_set_is_refitted_to_blocks_its_rows_need_and_finds_the_same() -> None:
    from photolane_processor.vectors import BLOCK_ROWS, fitting_block

    assert [fitting_block(n) for n in (0, 30, 100, 1_000, 10_000, 1_000_000)] == [64, 64, 128, 1_280, 12_544,
                                                                                      BLOCK_ROWS]
    rng = np.random.default_rng(4)
    vectors = _unit(rng, 300)
    big = VectorSet()  # one full block (8 MB) for 300 rows
    big.extend((str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))), i, v, None) for i, v in enumerate(vectors))
    big.remove(str(uuid.uuid5(uuid.NAMESPACE_URL, "7")))
    small = big.fitted()
    assert small.block_rows == 384 and len(small) == 299 and small.nbytes < big.nbytes / 20
    queries = _unit(rng, 5)
    assert [(h.owner, h.slot) for h in small.nearest(queries)] == [(h.owner, h.slot) for h in big.nearest(queries)]
    out = io.BytesIO()
    small.dump(out, {})
    out.seek(0)
    loaded, _ = VectorSet.load(out)
    assert loaded.block_rows == 384 and len(loaded) == 299 and small.fitted() is small
