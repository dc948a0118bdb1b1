"""The naming benchmark's data and the policy's table agree: real faces of many people, as hard as real
faces are (the false-match rate dlib's encodings have on photos of people), and the impostor rates the
policy reads its tolerances from are the ones these faces show."""

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from photolane_processor.policy import NamingPolicy

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "naming" / "data"


@pytest.fixture(scope="module")
def measure():  # noqa: ANN201 - the benchmark's own module, loaded from its file
    spec = importlib.util.spec_from_file_location("naming_measure", ROOT / "bench" / "naming" / "measure.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def faces(measure):  # noqa: ANN001, ANN201
    return measure.LabelledFaces.load(DATA)


def test_the_data_is_real_faces_of_many_people_each_with_its_source(faces) -> None:  # noqa: ANN001
    counts = np.bincount(faces.person)
    assert len(faces.labels) >= 1_000 and (counts >= 4).sum() >= 300
    assert faces.encodings.shape == (len(faces.person), 128) and np.isfinite(faces.encodings).all()
    with open(DATA / "faces.csv", newline="") as file:
        sources = [row["source"] for row in csv.DictReader(file)]
    assert len(sources) == len(faces.person) and all("@" in s and ":" in s for s in sources)
    assert (DATA / "README.md").exists()


def test_the_data_is_as_hard_as_real_faces(measure, faces) -> None:  # noqa: ANN001
    rates, _, _ = measure.impostor_rates(faces, faces.photos_of(), 1, np.random.default_rng(1), pairs=4e6)
    # dlib's encodings on photos of people: about 1e-3 to 1e-2 of different people within 0.6 (LFW's
    # alone: 6e-3); with the US Congress portraits, many of them old, about 1.6e-2.
    assert 1e-3 <= rates[0.6] <= 3e-2
    # Synthetic encodings made this 7e-9: the benchmark would not show how strangers get names.


@pytest.mark.parametrize("samples", [1, 3])
def test_the_policys_tolerances_are_what_the_faces_show(measure, faces, samples: int) -> None:  # noqa: ANN001
    measured = measure.tolerance_table(faces, faces.photos_of(), samples, np.random.default_rng(3), probes=3_000)
    policy = NamingPolicy(max_tolerance=2.0)
    people = int((np.bincount(faces.person) >= samples).sum())
    for n, name, ask in measured:
        if n > people // 3:
            continue  # extended, not measured
        assert policy.tolerance(n, samples) == pytest.approx(name, abs=0.02), (n, samples)
        assert max(policy.tolerance(n, samples), ask) == pytest.approx(policy.suggest_tolerance(n, samples),
                                                                       abs=0.025), (n, samples)
