"""The naming policy through the real handlers and a real moto server, on real faces of many people
(the labelled encodings of make bench-naming): enrolling one person names their faces, asks about
the unsure ones, and renames no stranger across the library."""

import uuid
from pathlib import Path

import numpy as np
import pytest

from photolane_common.domain import Face, ProcessedImage
from photolane_common.messages import PersonPhotoAdded
from photolane_processor.handlers import ProcessorDeps
from photolane_processor.matching import to_bytes

from ..conftest import stored_photo
from .test_people import _run

DATA = Path(__file__).resolve().parents[4] / "bench" / "naming" / "data" / "faces.npz"


@pytest.fixture(scope="module")
def labelled() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA) as data:
        return data["encodings"].astype(np.float32), data["person"].astype(np.int64)


def _library(deps: ProcessorDeps, faces: np.ndarray) -> list[str]:
    """Processed photos holding these faces, unknown, four a photo (filed and announced as processed)."""
    ids = []
    for start in range(0, len(faces), 4):
        photo_id = stored_photo(deps, b"not read").photo_id
        group = tuple(Face((0, 10, 10, 0), encoding=to_bytes(e), cluster=str(uuid.uuid4()))
                      for e in faces[start:start + 4])
        deps.photos.mark_processed(photo_id, ProcessedImage(f"flipped/{photo_id}.jpg", f"thumbs/{photo_id}.jpg",
                                                            f"results/{photo_id}.csv", 10, 10, group))
        photo = deps.photos.get(photo_id)
        deps.photos.file_faces((photo, ()))
        ids.append(photo_id)
    deps.photos.announce_unknown(*ids)
    return ids


def _enroll(deps: ProcessorDeps, name: str, samples: np.ndarray) -> str:
    person_id = str(uuid.uuid4())
    keys = [f"people/{person_id}/{i}.jpg" for i in range(len(samples))]
    deps.people.create(person_id, name, {}, keys)
    for key, encoding in zip(keys, samples, strict=True):
        deps.people.photo_enrolled(person_id, key, to_bytes(encoding))
    deps.people.announce(person_id)
    return person_id


def test_enrolling_one_person_names_them_and_renames_no_stranger(deps: ProcessorDeps,
                                                                 labelled: tuple[np.ndarray, np.ndarray]) -> None:
    encodings, person = labelled
    rng = np.random.default_rng(21)
    counts = np.bincount(person)
    everyone = rng.permutation(np.flatnonzero(counts >= 1))
    # The target: somebody with 7 photos or more whom the old policy (anyone within 0.6 of one of
    # their photos) would confuse with some of 1,000 strangers.
    for target in rng.permutation(np.flatnonzero(counts >= 7)):
        others = everyone[everyone != target]
        strangers = np.stack([encodings[person == p][0] for p in others[100:1100]])
        theirs = rng.permutation(np.flatnonzero(person == target))
        old = int((np.linalg.norm(strangers[:, None, :] - encodings[theirs[:3]][None], axis=2).min(axis=1)
                   <= 0.6).sum())
        if old > 0:
            break
    assert old > 0, "the set should hold somebody the old policy confuses with strangers"
    # 100 people already enrolled (one photo each), a library of the 1,000 strangers' faces and 4 of
    # the target's; then the target is enrolled from 3 other photos.
    for p in others[:100]:
        _enroll(deps, f"P{p}", encodings[person == p][:1])
    library = np.concatenate([strangers, encodings[theirs[3:7]]])
    photo_ids = _library(deps, library)

    target_id = _enroll(deps, "Target", encodings[theirs[:3]])
    _run(deps, PersonPhotoAdded(person_id=target_id, photo_key=f"people/{target_id}/0.jpg"))

    faces = [f for photo in deps.photos.many(photo_ids).values() for f in photo.faces]
    by_encoding = {f.encoding: f for f in faces}
    renamed = [f for e, f in by_encoding.items() if e in {to_bytes(s) for s in strangers} and f.person_id]
    assert [f.person_id for f in renamed if f.person_id == target_id] == [], f"the old policy: {old}"
    assert renamed == [], f"{len(renamed)} strangers named (the old policy: {old}): {renamed}"
    own = [by_encoding[to_bytes(e)] for e in encodings[theirs[3:7]]]
    assert sum(f.person_id == target_id for f in own) >= 3, [(f.person_id, f.suggestion) for f in own]
    assert all(f.person_id == target_id or f.suggestion == target_id for f in own)
