"""Who a face is, or who it may be: the naming policy (pure numpy, no AWS).

Each person is matched through one template, the mean of their samples' encodings (a mean of several
photos sits nearer their other photos than any one of them does). A face is *named* a person only when

- its distance to their template is within the tolerance for the number of people searched (and
  the number of samples in the template): the distance within which a stranger's face comes to any
  of N people's templates in 1.25 % of cases, measured on real faces of many people (``TOLERANCES``),
  so that chance stays the same whether 10 or 10,000 people are enrolled;
- and the next person is at least ``margin`` farther (two people alike: no name, a suggestion).

A face that is not named but is within ``suggest_tolerance`` of the nearest person gets a suggestion
("Is this <name>?"), for a person to confirm or reject. The figures behind the defaults are measured
by ``make bench-naming`` on real faces of many people (BENCHMARKS.md, "Naming").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

# The distances within which a face is named, and asked about, by the number of people searched (N)
# and the samples in their templates (k): measured by make bench-naming (BENCHMARKS.md, "Naming") on
# real faces of 11,255 people, Labeled Faces in the Wild and the US Congress portraits (18,693 faces,
# bench/naming/data/README.md): the distance within which a stranger's face set against N people's
# templates is named (the nearest that near, the next a margin farther) in 1.25 % of cases (name), and
# comes that near anyone in 30 % (ask). A mean of more samples sits nearer the middle of all faces, so
# strangers come nearer it: each k has its own points (more samples than the largest k measured: that
# one; templates of 2 photos or more are LFW people's, the Congress portraits being one a person, but
# the strangers are faces of both). N beyond a third of the people with k photos (k=1: 3,000; k=2: 300;
# k=3 and k=5: 100) is continued along the slope over log N of the last two measured points. Between
# the points the distance is interpolated on log N; beyond the last it is held.
TOLERANCES: dict[int, tuple[tuple[int, float, float], ...]] = {
    1: ((1, 0.593, 0.700), (3, 0.552, 0.692), (10, 0.522, 0.641), (30, 0.497, 0.604), (100, 0.478, 0.573),
        (300, 0.460, 0.547), (1000, 0.448, 0.523), (3000, 0.433, 0.502), (10000, 0.417, 0.480),
        (30000, 0.402, 0.460), (100000, 0.386, 0.438)),
    2: ((1, 0.588, 0.700), (3, 0.561, 0.682), (10, 0.529, 0.631), (30, 0.503, 0.594), (100, 0.482, 0.562),
        (300, 0.465, 0.536), (1000, 0.446, 0.508), (3000, 0.428, 0.482), (10000, 0.409, 0.453),
        (30000, 0.392, 0.427), (100000, 0.373, 0.399)),
    3: ((1, 0.580, 0.700), (3, 0.549, 0.666), (10, 0.518, 0.619), (30, 0.493, 0.584), (100, 0.476, 0.552),
        (300, 0.460, 0.523), (1000, 0.443, 0.491), (3000, 0.427, 0.462), (10000, 0.410, 0.430),
        (30000, 0.395, 0.401), (100000, 0.377, 0.369)),
    5: ((1, 0.567, 0.700), (3, 0.540, 0.659), (10, 0.505, 0.608), (30, 0.486, 0.574), (100, 0.465, 0.543),
        (300, 0.446, 0.515), (1000, 0.425, 0.484), (3000, 0.406, 0.456), (10000, 0.385, 0.425),
        (30000, 0.366, 0.397), (100000, 0.345, 0.366)),
}


def template(encodings: Sequence[np.ndarray]) -> np.ndarray:
    """A person's template: the mean of their samples' encodings (float32, 128 values)."""
    return np.mean(np.asarray(encodings, dtype=np.float32).reshape(len(encodings), -1), axis=0).astype(np.float32)


def _measured(people: int, samples: int) -> tuple[float, float]:
    """The (name, ask) distances for so many people and samples, from TOLERANCES."""
    points = TOLERANCES[max(k for k in TOLERANCES if k <= max(samples, min(TOLERANCES)))]
    n = max(1, people)
    if n <= points[0][0]:
        return points[0][1], points[0][2]
    for (n0, *d0), (n1, *d1) in zip(points, points[1:], strict=False):
        if n <= n1:
            w = (math.log10(n) - math.log10(n0)) / (math.log10(n1) - math.log10(n0))
            return d0[0] + (d1[0] - d0[0]) * w, d0[1] + (d1[1] - d0[1]) * w
    return points[-1][1], points[-1][2]


@dataclass(frozen=True)
class Candidate:
    person_id: str
    distance: float  # to their template
    samples: int = 1  # how many samples their template is the mean of


@dataclass(frozen=True)
class Verdict:
    person_id: str | None = None  # named (None: unknown)
    distance: float | None = None  # to the named person's template
    suggestion: Candidate | None = None  # not named, but maybe this person


@dataclass(frozen=True)
class NamingPolicy:
    # Never name or suggest farther than this, however few people are enrolled.
    max_tolerance: float = 0.6
    # The next person must be this much farther than the one named.
    margin: float = 0.05

    def tolerance(self, people: int, samples: int = 1) -> float:
        """The distance within which a face is named a person whose template has so many samples,
        searching ``people`` templates."""
        return min(self.max_tolerance, _measured(people, samples)[0])

    def suggest_tolerance(self, people: int, samples: int = 1) -> float:
        """The distance within which a face not named is suggested the nearest person."""
        return max(self.tolerance(people, samples), min(self.max_tolerance, _measured(people, samples)[1]))

    def search_radius(self, people: int) -> float:
        """How far to look for people: every distance ``decide`` looks at, whatever their samples."""
        return max(max(self.suggest_tolerance(people, k), self.tolerance(people, k) + self.margin)
                   for k in (*TOLERANCES, 1))

    def decide(self, candidates: Sequence[Candidate], people: int, rejected: Collection[str] = ()) -> Verdict:
        """Name, suggest or neither, from the people nearest the face (nearest first; at least those
        within ``suggest_tolerance``); people it was said not to be are passed over."""
        near = [c for c in candidates if c.person_id not in rejected]
        if not near:
            return Verdict()
        best = near[0]
        runner_up = near[1].distance if len(near) > 1 else math.inf
        if best.distance <= self.tolerance(people, best.samples) and runner_up - best.distance >= self.margin:
            return Verdict(best.person_id, best.distance)
        if best.distance <= self.suggest_tolerance(people, best.samples):
            return Verdict(suggestion=best)
        return Verdict()
