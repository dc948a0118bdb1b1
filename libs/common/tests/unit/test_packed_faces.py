"""A photo's faces packed in one binary value: every field back as it was, bad values refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from photolane_common.domain import Face
from photolane_common.packed_faces import MAGIC, BadPackedFaces, pack, unpack


def _encoding(seed: int) -> bytes:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32).tobytes()


FACES = (
    Face(box=(10, 60, 70, 5)),  # nothing known yet: no encoding
    Face(box=(1, 2, 3, 4), person_id="p-1", distance=0.41234567890123, encoding=_encoding(1), crop="faces/x#1.jpg",
         named_by="match"),
    Face(box=(100, 220, 330, 90), encoding=_encoding(2), cluster="c-9", rejected=("p-1", "p-2"), suggestion="p-3",
         suggestion_distance=0.5799999999, crop="faces/x#2.jpg"),
    Face(box=(0, 0, 0, 0), person_id="p-4", distance=0.0, encoding=_encoding(3), named_by="owner"),
)


def test_every_field_of_every_face_comes_back_as_it_was() -> None:
    assert unpack(pack(FACES)) == FACES
    assert unpack(pack(())) == ()


def test_the_encodings_are_kept_raw_so_a_search_for_their_bytes_finds_them() -> None:
    packed = pack(FACES)
    assert all(face.encoding in packed for face in FACES if face.encoding)
    assert len(packed) < 3 * 512 + 600  # the header is small beside the encodings


@pytest.mark.parametrize("bad", [b"", b"PLF", b"XXXX" + bytes(8), MAGIC + struct.pack(">I", 5) + b"[1,2",
                                 MAGIC + struct.pack(">I", 2) + b"[]" + b"extra",
                                 MAGIC + struct.pack(">I", 3) + b"[1]",
                                 MAGIC + struct.pack(">I", 11) + b'[{"box":1}]',
                                 pack(FACES)[:-1]])
def test_anything_else_is_refused_with_a_reason(bad: bytes) -> None:
    with pytest.raises(BadPackedFaces):
        unpack(bad)


def test_a_field_written_by_a_newer_version_is_left_out_not_refused() -> None:
    header = b'[{"box":[1,2,3,4],"person_id":"p-1","age":41}]'
    assert unpack(MAGIC + struct.pack(">I", len(header)) + header) == (Face(box=(1, 2, 3, 4), person_id="p-1"),)
