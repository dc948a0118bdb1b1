"""Face encodings in memory, pure numpy: a set of 128-value vectors that changes one owner at a time.

Each row is a vector with its key: an owner (a person, or the photo of an unknown face), a slot (the
enrollment photo's or the face's number) and a tag (an unknown face's cluster). Owners and tags are
UUIDs kept as two 64-bit integers, so a million rows cost 40 bytes of keys each beside the 512 bytes
of the float32 vector, and no Python object per row.

Rows live in blocks of ``block_rows``, each stored column by column (float32, see _Block): the
product with a few query faces is then one BLAS call per block that reads the block once (2× faster
than row by row at a million rows, measured). A removed row is marked dead (norm = +inf, never
nearest) and its place reused, so a change writes only its own rows (finding them is one vectorised
compare of the owner keys: milliseconds at a million rows).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

DIMENSIONS = 128
BLOCK_ROWS = 16_384  # 8 MB a block: the product with the queries stays in cache (65,536: 1.7x slower)
SMALL_ROWS = 64  # the smallest block: a collection of 30 people does not hold 8 MB


def fitting_block(rows: int) -> int:
    """Block rows for a set of ``rows``: a quarter to spare, in steps of SMALL_ROWS, at most BLOCK_ROWS
    (a processor holding thousands of small collections holds their rows, not thousands of full blocks)."""
    wanted = max(SMALL_ROWS, rows + rows // 4)
    return min(BLOCK_ROWS, -(-wanted // SMALL_ROWS) * SMALL_ROWS)
HEAD = 96  # the values of the first pass of a search within a radius (see VectorSet.nearest)
# A block's rows: the first HEAD values, -|head|²/2, the other values, -|tail|²/2 (-inf: no vector here).
_HEAD, _HEAD_BIAS = slice(0, HEAD), HEAD
_TAIL, _TAIL_BIAS = slice(HEAD + 1, DIMENSIONS + 1), DIMENSIONS + 1
_LAYOUT_ROWS = DIMENSIONS + 2
MAGIC = "photolane-vectors"
FORMAT_VERSION = 1
_MASK = (1 << 64) - 1
# One row's key as it is written in a snapshot.
KEY_DTYPE = np.dtype([("owner_hi", "<u8"), ("owner_lo", "<u8"), ("slot", "<i4"),
                      ("tag_hi", "<u8"), ("tag_lo", "<u8")])


@dataclass(frozen=True)
class Hit:
    owner: str
    slot: int
    tag: str | None
    distance: float
    row: int = -1  # where it is in the set


class _Ids:
    """UUID strings ↔ two uint64; any other string gets a 128-bit hash and is remembered."""

    def __init__(self) -> None:
        self.others: dict[tuple[int, int], str] = {}

    def encode(self, text: str | None) -> tuple[int, int]:
        if text is None:
            return 0, 0
        try:
            value = uuid.UUID(text)
        except ValueError:
            value = None
        if value is None or str(value) != text or value.int == 0:  # (0, 0) means "no id"
            value = uuid.UUID(bytes=hashlib.blake2b(text.encode(), digest_size=16).digest())
            self.others[(value.int >> 64, value.int & _MASK)] = text
        return value.int >> 64, value.int & _MASK

    def decode(self, hi: int, lo: int) -> str | None:
        if hi == 0 and lo == 0:
            return None
        key = (int(hi), int(lo))
        return self.others[key] if key in self.others else str(uuid.UUID(int=(key[0] << 64) | key[1]))


class _Block:
    def __init__(self, rows: int) -> None:
        # Each part of a vector is followed by -|part|²/2, so that the product with the query's part and a
        # 1, [q_h, 1]·[v_h, -|v_h|²/2], is q_h·v_h - |v_h|²/2; the two parts' sum is q·v - |v|²/2,
        # largest for the nearest v, as |q-v|² = |q|² - 2 (q·v - |v|²/2).
        self.vectors = np.zeros((_LAYOUT_ROWS, rows), dtype=np.float32)
        self.vectors[_HEAD_BIAS] = -np.inf
        self.vectors[_TAIL_BIAS] = -np.inf
        self.keys = np.zeros(rows, dtype=KEY_DTYPE)

    def nbytes(self) -> int:
        return self.vectors.nbytes + self.keys.nbytes

    @property
    def norms(self) -> np.ndarray:
        """Each row's squared norm (+inf: no row), a copy."""
        return -2 * (self.vectors[_HEAD_BIAS] + self.vectors[_TAIL_BIAS])

    def live(self, rows: int) -> np.ndarray:
        return np.flatnonzero(np.isfinite(self.vectors[_HEAD_BIAS, :rows]))

    def values(self, columns: np.ndarray | slice | int) -> np.ndarray:
        """The vectors of some columns, (128, n) (or (128,) for one)."""
        return np.concatenate([self.vectors[_HEAD, columns], self.vectors[_TAIL, columns]])

    def set_values(self, columns: slice | int, values: np.ndarray) -> None:
        """Write vectors ((128, n), or (128,) for one column) and their parts' half norms."""
        head, tail = values[:HEAD], values[HEAD:]
        self.vectors[_HEAD, columns] = head
        self.vectors[_TAIL, columns] = tail
        self.vectors[_HEAD_BIAS, columns] = -np.einsum("i...,i...->...", head, head) / 2
        self.vectors[_TAIL_BIAS, columns] = -np.einsum("i...,i...->...", tail, tail) / 2

    def clear(self, column: int) -> None:
        self.vectors[:, column] = 0.0
        self.vectors[_HEAD_BIAS, column] = -np.inf
        self.vectors[_TAIL_BIAS, column] = -np.inf


class VectorSet:
    def __init__(self, block_rows: int = BLOCK_ROWS) -> None:
        self.block_rows = block_rows
        self.blocks: list[_Block] = []
        self.used = 0  # rows handed out (live or dead); the rest of the last block is unused
        self.free: list[int] = []  # dead rows, reused first
        self.ids = _Ids()

    def __len__(self) -> int:
        return self.used - len(self.free)

    @property
    def nbytes(self) -> int:
        return sum(block.nbytes() for block in self.blocks)

    # -- changes -----------------------------------------------------------------------------------
    def replace(self, owner: str, rows: Sequence[tuple[int, np.ndarray, str | None]]) -> None:
        """The owner's rows become ``rows`` (slot, vector, tag): its old rows are dropped first."""
        self.remove(owner)
        hi, lo = self.ids.encode(owner)
        for slot, vector, tag in rows:
            self._put(self._take_row(), hi, lo, slot, vector, tag)

    def remove(self, owner: str) -> int:
        hi, lo = self.ids.encode(owner)
        removed = 0
        for number, block in enumerate(self.blocks):
            keys = block.keys
            for i in np.flatnonzero(keys["owner_lo"] == lo):  # one 64-bit compare, then the other half
                if keys["owner_hi"][i] == hi and np.isfinite(block.vectors[_HEAD_BIAS, i]):
                    block.clear(int(i))
                    keys[i] = (0, 0, 0, 0, 0)
                    self.free.append(number * self.block_rows + int(i))
                    removed += 1
        return removed

    def extend(self, rows: Iterable[tuple[str, int, np.ndarray, str | None]]) -> None:
        """Many rows at once (owner, slot, vector, tag), e.g. a full load."""
        for owner, slot, vector, tag in rows:
            hi, lo = self.ids.encode(owner)
            self._put(self._take_row(), hi, lo, slot, vector, tag)

    @classmethod
    def from_arrays(cls, owners: Sequence[str], slots: np.ndarray, vectors: np.ndarray,
                    tags: Sequence[str | None] | None = None, block_rows: int = BLOCK_ROWS) -> VectorSet:
        """A set built at once from row-by-row arrays (vectors (n, 128)), a block at a time."""
        built = cls(block_rows)
        if not len(owners):
            return built
        keys = np.zeros(len(owners), dtype=KEY_DTYPE)
        keys["owner_hi"], keys["owner_lo"] = np.array([built.ids.encode(o) for o in owners], dtype=np.uint64).T
        keys["slot"] = slots
        if tags is not None:
            keys["tag_hi"], keys["tag_lo"] = np.array([built.ids.encode(t) for t in tags], dtype=np.uint64).T
        for start in range(0, len(owners), block_rows):
            part = np.asarray(vectors[start:start + block_rows], dtype=np.float32)
            built._append(keys[start:start + block_rows], np.ascontiguousarray(part.T))
        return built

    def _take_row(self) -> int:
        if self.free:
            return self.free.pop()
        if self.used == len(self.blocks) * self.block_rows:
            self.blocks.append(_Block(self.block_rows))
        self.used += 1
        return self.used - 1

    def _put(self, row: int, hi: int, lo: int, slot: int, vector: np.ndarray, tag: str | None) -> None:
        block, i = self.blocks[row // self.block_rows], row % self.block_rows
        block.set_values(i, np.asarray(vector, dtype=np.float32).reshape(DIMENSIONS))
        tag_hi, tag_lo = self.ids.encode(tag)
        block.keys[i] = (hi, lo, slot, tag_hi, tag_lo)

    # -- search ------------------------------------------------------------------------------------
    def _scores(self, queries: np.ndarray) -> Iterator[tuple[_Block, int, np.ndarray]]:
        """For each block: q·v - |v|²/2 (k, rows) for the queries, dead rows -inf (one BLAS product a part)."""
        head, tail = _augmented(queries)
        for number, block in enumerate(self.blocks):
            rows = min(self.block_rows, self.used - number * self.block_rows)
            scores = head @ block.vectors[:_HEAD_BIAS + 1, :rows]
            scores += tail @ block.vectors[_HEAD_BIAS + 1:, :rows]
            yield block, number * self.block_rows, scores

    def nearest(self, queries: np.ndarray, radius: float | None = None) -> list[Hit | None]:
        """For each query (k, 128): the nearest row (None: none, or none within ``radius``).

        Within a radius the search is exact and faster: a first pass over the first HEAD values gives
        each row a lower bound of its distance (the distance of those values alone); only the rows it
        cannot rule out are compared in full. Face encodings of different people are about 0.9 apart,
        0.6 of which the first 96 values already show: few rows are left for the second pass.
        """
        queries = _as_queries(queries)
        if radius is None:
            return self._nearest_of_all(queries)
        def search(numbers: range) -> tuple[np.ndarray, list[tuple[_Block, int, int] | None]]:
            best = np.full(len(queries), -np.inf, dtype=np.float32)
            where: list[tuple[_Block, int, int] | None] = [None] * len(queries)
            for block, start, candidates, scores in self._pruned(queries, radius, numbers):
                columns = np.argmax(scores, axis=1)
                values = scores[np.arange(len(queries)), columns]
                for q in np.flatnonzero(values > best):
                    best[q], where[q] = values[q], (block, start, int(candidates[columns[q]]))
            return best, where

        parts = _split(len(self.blocks), _THREADS)
        found = list(_pool().map(search, parts)) if len(parts) > 1 else [search(parts[0])] if parts else []
        best = np.full(len(queries), -np.inf, dtype=np.float32)
        where: list[tuple[_Block, int, int] | None] = [None] * len(queries)
        for part_best, part_where in found:
            for q in np.flatnonzero(part_best > best):
                best[q], where[q] = part_best[q], part_where[q]
        return self._hits(queries, where, best, radius)

    def _pruned(self, queries: np.ndarray, radius: float,
                numbers: range) -> Iterator[tuple[_Block, int, np.ndarray, np.ndarray]]:
        """For each of these blocks: the rows a first pass over the head cannot put beyond ``radius``
        of every query, and their full scores q·v - |v|²/2 (k, candidates)."""
        head, tail = _augmented(queries)
        # Within radius r: |q-v|² ≤ r², so the head alone: |q_h|² - 2 (q_h·v_h - |v_h|²/2) ≤ r².
        floor = ((np.einsum("ij,ij->i", queries[:, :HEAD], queries[:, :HEAD]) - radius * radius) / 2)[:, None]
        for number in numbers:
            block, rows = self.blocks[number], min(self.block_rows, self.used - number * self.block_rows)
            first = head @ block.vectors[:_HEAD_BIAS + 1, :rows]
            candidates = np.flatnonzero((first >= floor).any(axis=0))
            if len(candidates):
                yield block, number * self.block_rows, candidates, \
                    first[:, candidates] + tail @ block.vectors[_HEAD_BIAS + 1:, candidates]

    def _nearest_of_all(self, queries: np.ndarray) -> list[Hit | None]:
        best = np.full(len(queries), -np.inf, dtype=np.float32)
        where: list[tuple[_Block, int, int] | None] = [None] * len(queries)
        for block, start, scores in self._scores(queries):
            columns = np.argmax(scores, axis=1)
            values = scores[np.arange(len(queries)), columns]
            for q in np.flatnonzero(values > best):
                best[q], where[q] = values[q], (block, start, int(columns[q]))
        return self._hits(queries, where, best, None)

    def _hits(self, queries: np.ndarray, where: list[tuple[_Block, int, int] | None], best: np.ndarray,
              radius: float | None) -> list[Hit | None]:
        query_norms = np.einsum("ij,ij->i", queries, queries)
        hits: list[Hit | None] = []
        for place, score, norm in zip(where, best, query_norms, strict=True):
            squared = float(norm - 2 * score)
            within = place is not None and (radius is None or squared <= radius * radius)
            hits.append(self._hit(*place, squared) if within and place else None)
        return hits

    def near(self, queries: np.ndarray, radius: float) -> list[list[Hit]]:
        """For each query (k, 128): every row within ``radius``, nearest first (the same two passes as
        ``nearest``: the head rules most rows out, the rest are compared in full)."""
        queries = _as_queries(queries)
        norms = np.einsum("ij,ij->i", queries, queries)[:, None]

        def search(numbers: range) -> list[list[Hit]]:
            found: list[list[Hit]] = [[] for _ in queries]
            for block, start, candidates, scores in self._pruned(queries, radius, numbers):
                squared = norms - 2 * scores
                for q, c in zip(*np.nonzero(squared <= radius * radius), strict=True):
                    found[q].append(self._hit(block, start, int(candidates[c]), float(squared[q, c])))
            return found

        parts = _split(len(self.blocks), _THREADS)
        results = list(_pool().map(search, parts)) if len(parts) > 1 else [search(p) for p in parts]
        return [sorted((hit for part in results for hit in part[q]), key=lambda h: h.distance)
                for q in range(len(queries))]

    def within(self, queries: np.ndarray, radius: float) -> list[Hit]:
        """Every row within ``radius`` of any query, nearest query's distance (each row once)."""
        queries = _as_queries(queries)
        query_norms = np.einsum("ij,ij->i", queries, queries)[:, None]
        hits: list[Hit] = []
        for block, start, scores in self._scores(queries):
            closest = (query_norms - 2 * scores).min(axis=0)
            for i in np.flatnonzero(closest <= radius * radius):
                hits.append(self._hit(block, start, int(i), float(closest[i])))
        return hits

    def _hit(self, block: _Block, start: int, i: int, squared: float) -> Hit:
        key = block.keys[i]
        owner = self.ids.decode(key["owner_hi"], key["owner_lo"]) or ""
        tag = self.ids.decode(key["tag_hi"], key["tag_lo"])
        return Hit(owner, int(key["slot"]), tag, round(float(np.sqrt(max(squared, 0.0))), 4), start + i)

    def vector_of(self, hit: Hit) -> np.ndarray:
        """The vector of a hit's row (as it was when found)."""
        block = self.blocks[hit.row // self.block_rows]
        return np.ascontiguousarray(block.values(hit.row % self.block_rows))

    # -- snapshots ---------------------------------------------------------------------------------
    def dump(self, out: BinaryIO, meta: dict[str, object]) -> int:
        """The live rows, block by block (no copy of the whole set); returns the rows written."""
        header = {"format": MAGIC, "version": FORMAT_VERSION, "dimensions": DIMENSIONS, "rows": len(self),
                  "meta": meta, "others": [[hi, lo, text] for (hi, lo), text in self.ids.others.items()]}
        out.write(json.dumps(header).encode() + b"\n")
        written = 0
        for number, block in enumerate(self.blocks):
            rows = min(self.block_rows, self.used - number * self.block_rows)
            live = block.live(rows)
            if not len(live):
                continue  # a count of 0 ends the file
            out.write(np.int64(len(live)).tobytes())
            out.write(block.keys[live].tobytes())
            out.write(np.ascontiguousarray(block.values(live)).tobytes())
            written += len(live)
        out.write(np.int64(0).tobytes())
        return written

    def fitted(self) -> VectorSet:
        """The same rows in blocks fitting their number (``fitting_block``): itself when they do."""
        size = fitting_block(len(self))
        if size == self.block_rows:
            return self
        fitted = VectorSet(size)
        fitted.ids.others = dict(self.ids.others)
        for number, block in enumerate(self.blocks):
            live = block.live(min(self.block_rows, self.used - number * self.block_rows))
            if len(live):
                fitted._append(block.keys[live], np.ascontiguousarray(block.values(live)))
        return fitted

    @classmethod
    def load(cls, stream: BinaryIO, block_rows: int | None = None) -> tuple[VectorSet, dict[str, object]]:
        """A set written by ``dump`` (in blocks fitting its rows, unless ``block_rows``), and the meta it
        was written with."""
        try:
            header = json.loads(stream.readline())
            if header.get("format") != MAGIC or header.get("version") != FORMAT_VERSION:
                raise ValueError(f"not a {MAGIC} snapshot of version {FORMAT_VERSION}")
            others = {(int(hi), int(lo)): str(text) for hi, lo, text in header["others"]}
            rows, meta = int(header["rows"]), dict(header["meta"])
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a {MAGIC} snapshot: {exc}") from exc
        loaded = cls(block_rows or fitting_block(rows))
        loaded.ids.others = others
        while count := int(np.frombuffer(_read(stream, 8), dtype=np.int64)[0]):
            keys = np.frombuffer(_read(stream, count * KEY_DTYPE.itemsize), dtype=KEY_DTYPE)
            vectors = np.frombuffer(_read(stream, count * DIMENSIONS * 4), dtype=np.float32)
            loaded._append(keys, vectors.reshape(DIMENSIONS, count))
        if len(loaded) != rows:
            raise ValueError(f"the snapshot says {rows} rows but holds {len(loaded)}")
        return loaded, meta

    def _append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Rows at the end, a block at a time (a load: no free rows yet)."""
        done = 0
        while done < len(keys):
            if self.used == len(self.blocks) * self.block_rows:
                self.blocks.append(_Block(self.block_rows))
            block, start = self.blocks[-1], self.used % self.block_rows
            n = min(self.block_rows - start, len(keys) - done)
            block.keys[start:start + n] = keys[done:done + n]
            part = vectors[:, done:done + n]
            block.set_values(slice(start, start + n), part)
            self.used += n
            done += n


# The search's own threads, a part of the blocks each: numpy's products release the GIL, and with one
# BLAS thread per product (the processor sets OPENBLAS_NUM_THREADS=1) nothing waits on BLAS's threads.
_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="vectors")
    return _POOL


def _split(count: int, parts: int) -> list[range]:
    """0..count in at most ``parts`` contiguous ranges (none empty)."""
    size = -(-count // parts) if count else 0
    return [range(start, min(start + size, count)) for start in range(0, count, size)] if size else []


def _augmented(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[q_head, 1] and [q_tail, 1] for each query: the halves of a product with a block."""
    head = np.ones((len(queries), HEAD + 1), dtype=np.float32)
    head[:, :HEAD] = queries[:, :HEAD]
    tail = np.ones((len(queries), DIMENSIONS - HEAD + 1), dtype=np.float32)
    tail[:, :-1] = queries[:, HEAD:]
    return head, tail


def _as_queries(queries: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, DIMENSIONS))


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("the snapshot ends early")
    return data
