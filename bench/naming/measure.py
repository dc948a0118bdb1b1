"""``make bench-naming``: is the right name given to the right face, from 10 to 10,000 people enrolled?

The data are real faces of many people (``data/README.md`` says whose and where each photo came
from), each encoded by photolane's own detector and encoder; only the encodings are kept here.

For each collection size N and each of ``--draws`` random draws:

- ``--strangers`` people are set aside, never enrolled: one photo each is a stranger's face;
- N people are enrolled: first people with more than K photos (K = ``--samples`` enrolled, up to 3 of
  the rest are their faces to be named), then, to make up N, people with fewer photos (enrolled with
  what they have, at most K): the distractors a real school or company adds;
- every face is decided by the old policy (every enrollment photo a row; the nearest row within 0.6
  names the face) and by the new one (photolane_processor.policy: one template a person, a tolerance
  from the number of people, a margin over the next person, suggestions).

Figures, the mean over the draws: recall (known faces given their own name), wrong names among the
names given to known faces, strangers named, strangers suggested, and known faces named or suggested
right. The tolerances the policy uses are measured too (``tolerance_table``: the distance within
which a stranger's face set against N people is named in NAMED of cases, asked about in ASKED), set
beside the policy's ``TOLERANCES``; and the impostor rates per pair, to show the faces are at least
as hard as real ones.

Writes its section of BENCHMARKS.md; prints ``naming <size> <policy> <figure> <value>`` lines.
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photolane_common.benchmarks import splice
from photolane_processor.matching import FaceIndex
from photolane_processor.policy import NamingPolicy, template
from photolane_processor.vectors import BLOCK_ROWS, VectorSet

DATA = Path(__file__).parent / "data"
SIZES = (10, 100, 500, 1_000, 5_000, 10_000)
OLD_TOLERANCE = 0.6
RATE_DISTANCES = tuple(round(0.30 + 0.025 * i, 3) for i in range(15))
TEMPLATE_SAMPLES = (1, 2, 3, 5)
GRID = np.round(np.arange(0.25, 0.70001, 0.0025), 4)  # distances the tolerance table is read on
NS = (1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
NAMED, ASKED = 0.0125, 0.3  # the chance a stranger is named; that they come within the asking distance
COLLECTIONS = {  # the repositories the photos were read from (data/README.md): what to call them
    "umass-vis-lfw/umass-vis-lfw.github.io": "Labeled Faces in the Wild",
    "voteview/member_photos": "US Congress portraits from voteview",
}
HEADER = ("| people enrolled | policy | recall | wrong names | strangers named | strangers asked "
          "| named or suggested right | known / stranger faces a draw | ms a face |\n"
          "|---|---|---|---|---|---|---|---|---|")


@dataclass(frozen=True)
class LabelledFaces:
    encodings: np.ndarray  # (n, 128) float32
    person: np.ndarray  # (n,) the person of each face
    labels: list[str]
    collections: tuple[str, ...] = ()  # the repository (owner/name) of each person's photos

    @classmethod
    def load(cls, folder: Path = DATA) -> LabelledFaces:
        with np.load(folder / "faces.npz") as data:
            encodings, person = data["encodings"].astype(np.float32), data["person"].astype(np.int64)
        with open(folder / "faces.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        labels: dict[int, str] = {int(r["person"]): r["label"] for r in rows}
        repos: dict[int, str] = {int(r["person"]): r["source"].split("@", 1)[0] for r in rows}
        return cls(encodings, person, [labels[i] for i in range(len(labels))],
                   tuple(repos[i] for i in range(len(repos))))

    def photos_of(self) -> list[np.ndarray]:
        order = np.argsort(self.person, kind="stable")
        bounds = np.searchsorted(self.person[order], np.arange(len(self.labels) + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(len(self.labels))]


@dataclass
class Draw:
    enrolled: dict[int, np.ndarray]  # person → the rows of their enrollment photos
    known: list[tuple[int, int]]  # (row, person) faces of enrolled people, not enrolled themselves
    strangers: list[int]  # rows: one face each of people never enrolled


def draw(faces: LabelledFaces, size: int, samples: int, strangers: int, rng: np.random.Generator,
         photos: list[np.ndarray], full_only: bool = False) -> Draw | None:
    people = rng.permutation(len(photos))
    away, rest = people[:strangers], people[strangers:]
    rich = [p for p in rest if len(photos[p]) > samples]
    poor = [p for p in rest if len(photos[p]) <= samples]
    chosen = rich[:size] + ([] if full_only else poor[:max(0, size - len(rich))])
    if len(chosen) < size:
        return None
    enrolled: dict[int, np.ndarray] = {}
    known: list[tuple[int, int]] = []
    for p in chosen:
        rows = rng.permutation(photos[p])
        enrolled[p] = rows[:samples]
        known += [(int(r), int(p)) for r in rows[samples:samples + 3]]
    return Draw(enrolled, known, [int(rng.choice(photos[p])) for p in away])


@dataclass
class Tally:
    known: int = 0
    right: int = 0
    wrong: int = 0
    right_or_suggested: int = 0
    strangers: int = 0
    strangers_named: int = 0
    strangers_suggested: int = 0
    decide_ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        named = self.right + self.wrong
        return {
            "recall": self.right / max(1, self.known),
            "wrong_names": self.wrong / max(1, named),
            "strangers_named": self.strangers_named / max(1, self.strangers),
            "strangers_suggested": self.strangers_suggested / max(1, self.strangers),
            "named_or_suggested_right": self.right_or_suggested / max(1, self.known),
        }


def old_policy(faces: LabelledFaces, d: Draw, tally: Tally) -> None:
    rows = [(str(p), faces.encodings[r]) for p, rs in d.enrolled.items() for r in rs]
    index = FaceIndex(rows)
    queries = faces.encodings[[r for r, _ in d.known] + d.strangers]
    started = time.perf_counter()
    hits = index.vectors.nearest(queries, OLD_TOLERANCE)
    tally.decide_ms.append((time.perf_counter() - started) * 1000 / max(1, len(queries)))
    for (_, person), hit in zip(d.known, hits[:len(d.known)], strict=True):
        tally.known += 1
        if hit is not None:
            tally.right += hit.owner == str(person)
            tally.wrong += hit.owner != str(person)
            tally.right_or_suggested += hit.owner == str(person)
    for hit in hits[len(d.known):]:
        tally.strangers += 1
        tally.strangers_named += hit is not None


def new_policy(faces: LabelledFaces, d: Draw, tally: Tally, policy: NamingPolicy) -> None:
    # One row a person, its slot the number of samples of the template, as known.py files them: the
    # policy reads each candidate's tolerance by it (FaceIndex(rows) would number the slots instead).
    vectors = VectorSet(block_rows=max(16, min(len(d.enrolled), BLOCK_ROWS)))
    vectors.extend((str(p), len(rs), template(faces.encodings[rs]), None) for p, rs in d.enrolled.items())
    index = FaceIndex(vectors=vectors)
    queries = faces.encodings[[r for r, _ in d.known] + d.strangers]
    started = time.perf_counter()
    verdicts = index.decide(queries, policy)
    tally.decide_ms.append((time.perf_counter() - started) * 1000 / max(1, len(queries)))
    for (_, person), v in zip(d.known, verdicts[:len(d.known)], strict=True):
        tally.known += 1
        if v.person_id is not None:
            tally.right += v.person_id == str(person)
            tally.wrong += v.person_id != str(person)
        asked = v.suggestion.person_id if v.suggestion else None
        tally.right_or_suggested += str(person) in (v.person_id, asked)
    for v in verdicts[len(d.known):]:
        tally.strangers += 1
        tally.strangers_named += v.person_id is not None
        tally.strangers_suggested += v.suggestion is not None


def impostor_rates(faces: LabelledFaces, photos: list[np.ndarray], samples: int, rng: np.random.Generator,
                   pairs: float = 6e7) -> tuple[dict[float, float], dict[float, int], int]:
    """Per (face, template of ``samples`` photos of somebody else) pair: how often they are within each
    distance; also the counts behind each rate, and the pairs looked at."""
    owners = [p for p in range(len(photos)) if len(photos[p]) >= samples]
    templates = np.stack([template(faces.encodings[rng.permutation(photos[p])[:samples]]) for p in owners])
    owner_ids = np.array(owners)
    probes = rng.permutation(len(faces.person))[:max(1, int(pairs // max(1, len(templates))))]
    probe_person = faces.person[probes]
    counts = np.zeros(len(RATE_DISTANCES), dtype=np.int64)
    total = 0
    t_norms = np.einsum("ij,ij->i", templates, templates)
    limits = np.square(np.array(RATE_DISTANCES, dtype=np.float32))
    for start in range(0, len(probes), 256):
        q = faces.encodings[probes[start:start + 256]]
        squared = np.einsum("ij,ij->i", q, q)[:, None] + t_norms[None, :] - 2 * q @ templates.T
        squared[probe_person[start:start + 256, None] == owner_ids[None, :]] = np.inf  # the same person
        total += int(np.isfinite(squared).sum())
        close = squared[squared <= limits[-1]]
        counts += np.searchsorted(np.sort(close), limits, side="right")
    return ({d: c / total for d, c in zip(RATE_DISTANCES, counts, strict=True)},
            dict(zip(RATE_DISTANCES, (int(c) for c in counts), strict=True)), total)


def tolerance_table(faces: LabelledFaces, photos: list[np.ndarray], samples: int, rng: np.random.Generator,
                    probes: int | None = None, margin: float = NamingPolicy().margin) -> list[tuple[int, float, float]]:
    """For each N of NS: the distance within which a stranger's face is *named* (the nearest of N
    random people's templates, of ``samples`` photos, that near and the next one ``margin`` farther)
    with the chance NAMED, and the distance within which it comes to anyone with the chance ASKED.

    Each probe face is set against a random N of everybody else's templates (faces that come near
    somebody come near many: a per-pair rate times N would miss that). The probes: ``probes`` random
    faces, by default every face (at 1.25 %, 6,000 probes left about 75 named a point: enough noise to
    bend the slope the points beyond a third of the templates are continued along)."""
    owners = [p for p in range(len(photos)) if len(photos[p]) >= samples]
    templates = np.stack([template(faces.encodings[rng.permutation(photos[p])[:samples]]) for p in owners])
    owner_ids = np.array(owners)
    chosen = rng.permutation(len(faces.person))[:probes or len(faces.person)]
    sizes = [n for n in NS if n <= len(templates) // 3]
    named = np.zeros((len(sizes), len(GRID)))
    near = np.zeros((len(sizes), len(GRID)))
    t_norms = np.einsum("ij,ij->i", templates, templates)
    for start in range(0, len(chosen), 128):
        rows = chosen[start:start + 128]
        q = faces.encodings[rows]
        squared = np.einsum("ij,ij->i", q, q)[:, None] + t_norms[None, :] - 2 * q @ templates.T
        squared[faces.person[rows][:, None] == owner_ids[None, :]] = np.inf  # the same person
        for i, n in enumerate(sizes):
            some = squared[:, rng.choice(len(templates), n, replace=False)]
            two = np.sqrt(np.maximum(np.sort(np.partition(some, min(1, n - 1), axis=1)[:, :2], axis=1), 0))
            first = two[:, 0]
            second = two[:, 1] if n > 1 else np.full(len(rows), np.inf)
            within = first[:, None] <= GRID[None, :]
            near[i] += within.sum(axis=0)
            with np.errstate(invalid="ignore"):  # no one else at all: inf - inf
                alone = second - first >= margin
            named[i] += (within & alone[:, None]).sum(axis=0)
    table = [(n, _crossing(named[i] / len(chosen), NAMED), _crossing(near[i] / len(chosen), ASKED))
             for i, n in enumerate(sizes)]
    return _extended(table + [(n, math.nan, math.nan) for n in NS if n not in sizes], sizes[-1])


def _extended(table: list[tuple[int, float, float]], reliable: int) -> list[tuple[int, float, float]]:
    """Beyond a third of the templates there are (too few people to draw N from), the distances go on
    along the slope over log N of the last two measured points."""
    kept = [row for row in table if row[0] <= reliable]
    if len(kept) < 2:
        return table
    (n0, a0, b0), (n1, a1, b1) = kept[-2], kept[-1]
    span = math.log10(n1) - math.log10(n0)
    slope_a, slope_b = min(0.0, (a1 - a0) / span), min(0.0, (b1 - b0) / span)
    return kept + [(n, a1 + slope_a * (math.log10(n) - math.log10(n1)), b1 + slope_b * (math.log10(n) - math.log10(n1)))
                   for n, _, _ in table if n > reliable]


def _crossing(chance: np.ndarray, target: float) -> float:
    """The distance of GRID where ``chance`` (growing with distance) reaches ``target``."""
    above = int(np.searchsorted(chance, target))
    if above == 0:
        return float(GRID[0])
    if above >= len(GRID):
        return float(GRID[-1])
    c0, c1 = chance[above - 1], chance[above]
    return float(GRID[above - 1] + (GRID[above] - GRID[above - 1]) * (target - c0) / max(c1 - c0, 1e-12))


def run(args: argparse.Namespace) -> tuple[str, list[str]]:
    faces = LabelledFaces.load(Path(args.data))
    photos = faces.photos_of()
    policy = NamingPolicy()
    rng = np.random.default_rng(args.seed)
    lines: list[str] = []
    table: list[str] = []
    for size in args.sizes:
        full = size == 500  # the target row: everyone with K photos
        tallies = {"old": Tally(), "new": Tally()}
        draws = 0
        for _ in range(args.draws):
            d = draw(faces, size, args.samples, args.strangers, rng, photos, full_only=full)
            if d is None:
                break
            draws += 1
            old_policy(faces, d, tallies["old"])
            new_policy(faces, d, tallies["new"], policy)
        if not draws:
            sys.stderr.write(f"naming: {size:,} people: the set has too few people for this size\n")
            continue
        tol, ask = policy.tolerance(size, args.samples), policy.suggest_tolerance(size, args.samples)
        for name, tally in tallies.items():
            f = tally.figures()
            for key, value in f.items():
                lines.append(f"naming {size} {name} {key} {value:.4f}")
            ms = float(np.median(tally.decide_ms))
            label = f"{size:,}{' (all with K photos)' if full else ''}"
            rule = (f"nearest photo ≤ {OLD_TOLERANCE}" if name == "old"
                    else f"template ≤ {tol:.3f} (k={args.samples}), margin {policy.margin}; ask ≤ {ask:.3f}")
            table.append(
                f"| {label} | {name}: {rule} | {f['recall']:.1%} | {f['wrong_names']:.2%} | "
                f"{f['strangers_named']:.2%} | {f['strangers_suggested']:.1%} | "
                f"{f['named_or_suggested_right']:.1%} | {tally.known // draws:,} / {tally.strangers // draws:,} "
                f"| {ms:.3f} |")
        sys.stderr.write(f"naming: {size:,} people done ({draws} draws)\n")
    rates = {k: impostor_rates(faces, photos, k, np.random.default_rng(args.seed + k)) for k in TEMPLATE_SAMPLES}
    tolerances = {k: tolerance_table(faces, photos, k, np.random.default_rng(args.seed + 10 * k))
                  for k in TEMPLATE_SAMPLES}
    return _report(args, faces, photos, table, rates, tolerances), lines


def _report(args: argparse.Namespace, faces: LabelledFaces, photos: list[np.ndarray], table: list[str],
            rates: dict[int, tuple[dict[float, float], dict[float, int], int]],
            tolerances: dict[int, list[tuple[int, float, float]]]) -> str:
    counts = [len(p) for p in photos]
    repos = sorted(set(faces.collections))
    held = ", ".join(
        f"{COLLECTIONS.get(r, r)} ({sum(c == r for c in faces.collections):,} people, "
        f"{sum(len(photos[i]) for i, c in enumerate(faces.collections) if c == r):,} faces)" for r in repos)
    ks = sorted(rates)
    rate_rows = "\n".join(f"| {d:.3f} | " + " | ".join(f"{_rate(rates[k][0][d])} ({rates[k][1][d]:,})" for k in ks)
                          + " |" for d in RATE_DISTANCES)
    policy = NamingPolicy()
    used = "\n".join(
        f"| {n:,} | " + " | ".join(f"{policy.tolerance(n, k):.3f} / {policy.suggest_tolerance(n, k):.3f}" for k in ks)
        + " |" for n in NS)
    measured = "\n".join(f"| {n:,} | " + " | ".join(f"{dict((m, (a, b)) for m, a, b in tolerances[k])[n][0]:.3f} / "
                                                   f"{dict((m, (a, b)) for m, a, b in tolerances[k])[n][1]:.3f}"
                                                   for k in ks) + " |" for n in NS)
    code = "\n".join(f"    {k}: ({', '.join(f'({n}, {a:.3f}, {b:.3f})' for n, a, b in tolerances[k])}),"
                     for k in ks)
    return f"""## Naming (make bench-naming)

`{args.command}` on {platform.node()}: {len(faces.labels):,} people, {len(faces.person):,} faces \
({sum(c >= 4 for c in counts):,} people with 4 photos or more), real photos from {len(repos)} public labelled \
set{"s" if len(repos) != 1 else ""}: {held} \
([bench/naming/data/README.md](bench/naming/data/README.md)), encoded by photolane's detector and encoder. \
Each size: {args.draws} random draws, {args.samples} enrollment photos a person where they have them, \
{args.strangers} strangers (never enrolled) a draw, up to 3 known faces a person; the mean of the draws. \
*Named or suggested right*: the right person is the name or the "Is this …?" question. \
The 500 row enrolls only people with {args.samples} photos (the issue's target: recall ≥ 85 %, \
wrong names ≤ 1 %, strangers named ≤ 2 %, named or suggested right ≥ 95 %).

{HEADER}
{chr(10).join(table)}

**The tolerances.** The distance within which a face is named (and asked about), by the number of \
people searched and the photos in their templates (k), measured here: set against N random people's \
templates, a stranger's face is named (the nearest that near, the next {NamingPolicy().margin} farther) \
in {NAMED:.2%} of cases, and comes that near anyone in {ASKED:.0%} (asked). Beyond a third of the \
people there are to draw from, continued along the slope over log N of the last two points. On these \
faces (name / ask):

| people | {" | ".join(f"k={k}" for k in ks)} |
|---|{"---|" * len(ks)}
{measured}

What the policy uses (`TOLERANCES` in policy.py, at most `PHOTOLANE_FACE_TOLERANCE`):

| people | {" | ".join(f"k={k}" for k in ks)} |
|---|{"---|" * len(ks)}
{used}

As `TOLERANCES` (N, name, ask):

```
{code}
```

Impostor rates per pair: how often a face and the template (the mean of k photos) of somebody else \
are within a distance, with the number of such pairs ({", ".join(f"k={k}: {rates[k][2]:,}" for k in ks)}). \
At 0.6, the old tolerance, about {rates[1][0][0.6]:.1e} of pairs of different people on one photo each: \
at least as hard as dlib's encodings are on photos of people: LFW's alone about 6e-3, the Congress \
portraits (many of them old) among themselves about 8e-2 (data/README.md).

| distance | {" | ".join(f"k={k}" for k in ks)} |
|---|{"---|" * len(ks)}
{rate_rows}
"""


def _rate(value: float) -> str:
    return "—" if math.isnan(value) else "0" if value == 0 else f"{value:.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--strangers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--command", default="make bench-naming")
    args = parser.parse_args()
    section, lines = run(args)
    if args.out:
        splice(Path(args.out), "naming", section)
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
