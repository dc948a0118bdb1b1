"""Face matching, pure numpy: every enrolled person's template in one VectorSet, named by the policy."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from .policy import Candidate, NamingPolicy, Verdict
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
    """Encodings to match faces against, each row owned by a person (a VectorSet of person ids): the
    people's templates, one row a person, for ``decide``."""

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

    def candidates(self, encodings: np.ndarray, radius: float) -> list[list[Candidate]]:
        """For each encoding: the people within ``radius``, nearest first (one row a person, its slot
        the number of samples of the template)."""
        queries = np.asarray(encodings, dtype=np.float32).reshape(-1, DIMENSIONS)
        if not len(self.vectors):
            return [[] for _ in queries]
        return [[Candidate(h.owner, h.distance, max(1, h.slot)) for h in hits]
                for hits in self.vectors.near(queries, radius)]

    def decide(self, encodings: np.ndarray, policy: NamingPolicy,
               rejected: list[Collection[str]] | None = None) -> list[Verdict]:
        """For each encoding: named, suggested or unknown by ``policy`` over everyone in the index."""
        people = len(self.vectors)
        found = self.candidates(encodings, policy.search_radius(people))
        refused = rejected or [()] * len(found)
        return [policy.decide(near, people, no) for near, no in zip(found, refused, strict=True)]
