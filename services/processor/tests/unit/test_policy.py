"""The naming policy: a tolerance that tightens with the number of people, a margin, suggestions."""

import numpy as np
import pytest

from photolane_processor.matching import FaceIndex
from photolane_processor.policy import TOLERANCES, Candidate, NamingPolicy, template


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_tolerance_tightens_as_people_are_added() -> None:
    policy = NamingPolicy()
    for samples in (1, 2, 3, 5, 8):
        tolerances = [policy.tolerance(n, samples) for n in (1, 10, 100, 1_000, 10_000, 1_000_000)]
        assert tolerances == sorted(tolerances, reverse=True), samples
        assert tolerances[-1] < tolerances[1] <= policy.max_tolerance
        asked = [policy.suggest_tolerance(n, samples) for n in (1, 10, 100, 1_000, 10_000)]
        assert all(a >= t for a, t in zip(asked, tolerances, strict=False))


def test_the_measured_points_are_read_on_log_n_and_held_beyond_them() -> None:
    policy = NamingPolicy(max_tolerance=2.0)
    for samples, points in TOLERANCES.items():
        (n0, d0, _), (n1, d1, _) = points[0], points[1]
        assert policy.tolerance(n0, samples) == pytest.approx(d0)
        assert policy.tolerance(round(np.sqrt(n0 * n1)), samples) == pytest.approx((d0 + d1) / 2, abs=0.01)
        assert policy.tolerance(points[-1][0] * 100, samples) == pytest.approx(points[-1][1])
    most = max(TOLERANCES)
    assert policy.tolerance(100, most + 10) == policy.tolerance(100, most)  # more samples: the largest k
    assert NamingPolicy(max_tolerance=0.3).tolerance(1) == 0.3  # never beyond the setting


def test_a_name_needs_the_tolerance_and_a_margin_else_a_suggestion() -> None:
    policy = NamingPolicy()
    tol, ask = policy.tolerance(100), policy.suggest_tolerance(100)
    assert ask >= tol
    sure = policy.decide([Candidate("ann", tol - 0.1), Candidate("bob", tol)], 100)
    assert (sure.person_id, sure.suggestion) == ("ann", None)
    alike = policy.decide([Candidate("ann", tol - 0.1), Candidate("bob", tol - 0.08)], 100)
    assert alike.person_id is None and alike.suggestion == Candidate("ann", tol - 0.1)
    farther = policy.decide([Candidate("ann", (tol + ask) / 2)], 100)
    assert farther.person_id is None and farther.suggestion is not None
    assert policy.decide([Candidate("ann", ask + 0.01)], 100) == policy.decide([], 100)


def test_people_it_is_not_are_passed_over() -> None:
    policy = NamingPolicy()
    tol = policy.tolerance(10)
    verdict = policy.decide([Candidate("ann", tol - 0.2), Candidate("bob", tol - 0.1)], 10, rejected={"ann"})
    assert verdict.person_id == "bob"


def test_a_template_is_the_mean_of_the_samples() -> None:
    samples = [np.full(128, 1.0, np.float32), np.full(128, 3.0, np.float32)]
    assert np.allclose(template(samples), 2.0) and template(samples).dtype == np.float32


def test_the_index_decides_over_everyone_with_margins() -> None:
    rng = np.random.default_rng(4)
    people = _unit(rng, 50) * 0.6  # about 0.85 apart, as different people's encodings are
    twins = people[0] + rng.normal(scale=0.005, size=128).astype(np.float32)
    index = FaceIndex([(f"p{i}", row) for i, row in enumerate(people)] + [("twin", twins)])
    verdicts = index.decide(np.stack([people[7] + 0.003, people[0] + 0.003, -people[3]]), NamingPolicy())
    assert verdicts[0].person_id == "p7"
    assert verdicts[1].person_id is None and verdicts[1].suggestion is not None  # p0 or its twin: ask
    assert verdicts[2].person_id is None and verdicts[2].suggestion is None
