import numpy as np
import pytest

from photolane_processor.matching import FaceIndex, from_bytes, to_bytes


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_nearest_person_within_tolerance_names_the_face() -> None:
    rng = np.random.default_rng(1)
    known = _unit(rng, 3)
    index = FaceIndex([("ann", known[0]), ("bob", known[1]), ("ann", known[2])])
    near_bob = known[1] + 0.01
    far = -known[0]
    matches = index.match(np.stack([near_bob, known[2], far]), tolerance=0.6)
    assert [m.person_id for m in matches] == ["bob", "ann", None]
    assert matches[0].distance == pytest.approx(np.linalg.norm(near_bob - known[1]), abs=1e-3)
    assert matches[2].distance is None  # nobody within tolerance


def test_agrees_with_brute_force_on_100k_encodings() -> None:
    rng = np.random.default_rng(2)
    known = _unit(rng, 100_000)
    index = FaceIndex((f"p{i}", row) for i, row in enumerate(known))
    queries = known[[5, 77_777]] + rng.normal(scale=0.01, size=(2, 128)).astype(np.float32)
    matches = index.match(queries, tolerance=0.6)
    for query, match in zip(queries, matches, strict=True):
        distances = np.linalg.norm(known - query, axis=1)
        assert match.person_id == f"p{int(np.argmin(distances))}"
        assert match.distance == pytest.approx(float(distances.min()), abs=1e-3)


def test_empty_index_names_nobody() -> None:
    assert [m.person_id for m in FaceIndex().match(np.zeros((2, 128)), 0.6)] == [None, None]


def test_encodings_round_trip_as_bytes() -> None:
    vector = np.arange(128, dtype=np.float32)
    assert np.array_equal(from_bytes(to_bytes(vector)), vector)
    with pytest.raises(ValueError, match="128 values"):
        from_bytes(b"\0" * 16)
