"""Face matching, pure numpy: every enrolled encoding in one VectorSet, nearest person wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .vectors import BLOCK_ROWS, DIMENSIONS, VectorSet


def to_bytes(encoding: np.ndarray) -> bytes:
    return np.asarray(encoding, dtype=np.float32).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    vector = np.frombuffer(data, dtype=np.float32)
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"a face encoding has {DIMENSIONS} values, not {vector.size}")
    return vector


@dataclass(frozen=True)
class Match:
    person_id: str | None
    distance: float | None  # to the nearest enrolled encoding (None: none within tolerance)


class FaceIndex:
    """Encodings to match faces against, each row owned by a person (a VectorSet of person ids)."""

    def __init__(self, rows: Iterable[tuple[str, np.ndarray]] = (), vectors: VectorSet | None = None) -> None:
        if vectors is None:
            rows = list(rows)
            vectors = VectorSet(block_rows=max(16, min(len(rows), BLOCK_ROWS)))
            vectors.extend((person_id, slot, encoding, None) for slot, (person_id, encoding) in enumerate(rows))
        self.vectors = vectors

    def __len__(self) -> int:
        return len(self.vectors)

    def match(self, encodings: np.ndarray, tolerance: float) -> list[Match]:
        """For each encoding (k, 128): the nearest person within ``tolerance``, else unknown."""
        queries = np.asarray(encodings, dtype=np.float32).reshape(-1, DIMENSIONS)
        hits = self.vectors.nearest(queries, tolerance) if len(self.vectors) else [None] * len(queries)
        return [Match(None, None) if hit is None else Match(hit.owner, hit.distance) for hit in hits]
