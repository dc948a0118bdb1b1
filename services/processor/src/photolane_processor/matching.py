"""Face matching, pure numpy: every enrolled encoding in one matrix, nearest person wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DIMENSIONS = 128


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
    distance: float | None  # to the nearest enrolled encoding, even when it is too far to name


class FaceIndex:
    """All enrolled encodings as one (n, 128) float32 matrix, with the person of each row."""

    def __init__(self, rows: Iterable[tuple[str, np.ndarray]] = ()) -> None:
        rows = list(rows)
        self.person_ids = np.array([person_id for person_id, _ in rows], dtype=object)
        self.matrix = np.array([e for _, e in rows], dtype=np.float32).reshape(len(rows), DIMENSIONS)
        self._squared_norms = np.einsum("ij,ij->i", self.matrix, self.matrix)

    def __len__(self) -> int:
        return len(self.person_ids)

    def match(self, encodings: np.ndarray, tolerance: float) -> list[Match]:
        """For each encoding (k, 128): the nearest person within ``tolerance``, else unknown."""
        queries = np.asarray(encodings, dtype=np.float32).reshape(-1, DIMENSIONS)
        if len(self) == 0:
            return [Match(None, None) for _ in queries]
        # |a-b|² = |a|² + |b|² - 2a·b: one matrix product instead of n subtractions per face.
        squared = self._squared_norms[None, :] + np.einsum("ij,ij->i", queries, queries)[:, None]
        squared -= 2.0 * queries @ self.matrix.T
        nearest = np.argmin(squared, axis=1)
        distances = np.sqrt(np.maximum(squared[np.arange(len(queries)), nearest], 0.0))
        return [
            Match(str(self.person_ids[row]) if distance <= tolerance else None, round(float(distance), 4))
            for row, distance in zip(nearest, distances, strict=True)
        ]
