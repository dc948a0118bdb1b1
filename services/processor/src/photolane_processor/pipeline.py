"""One photo through the transforms: upright, mirrored, thumbnail, faces. Pure, timed per stage."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from photolane_common.domain import Box, Face, Person

from .imaging import Rendition, encode, encode_jpeg, mirrored, open_oriented, thumbnail
from .matching import FaceIndex, to_bytes


class Detector(Protocol):
    def detect(self, image: Image.Image) -> list[Box]: ...


class Encoder(Protocol):
    def encode(self, image: Image.Image, boxes: list[Box]) -> list[np.ndarray]: ...


@dataclass
class Outputs:
    flipped: Rendition
    thumbnail: Rendition
    faces: tuple[Face, ...]
    width: int
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True)
class Recognition:
    """What naming the faces needs: the model parts, the enrolled people, the tolerance."""

    detector: Detector
    encoder: Encoder
    index: FaceIndex
    tolerance: float


def render(data: bytes, recognition: Recognition, thumbnail_px: int, quality: int = 92) -> Outputs:
    """Everything the processor makes of one original (raises UnreadableImage)."""
    timings: dict[str, float] = {}
    with _timed(timings, "decode"):
        upright, source_format = open_oriented(data)
    with _timed(timings, "flip"):
        flipped = encode(mirrored(upright), source_format, quality)
    with _timed(timings, "thumbnail"):
        thumb = encode_jpeg(thumbnail(upright, thumbnail_px))
    with _timed(timings, "detect"):
        boxes = recognition.detector.detect(upright)
    with _timed(timings, "encode"):
        encodings = recognition.encoder.encode(upright, boxes)
    with _timed(timings, "match"):
        matches = recognition.index.match(np.array(encodings), recognition.tolerance) if encodings else []
    faces = tuple(
        Face(box, m.person_id, m.distance, to_bytes(e)) for box, m, e in zip(boxes, matches, encodings, strict=True)
    )
    return Outputs(flipped, thumb, faces, upright.width, upright.height, timings)


RESULT_COLUMNS = ("face", "top", "right", "bottom", "left", "person_id", "name", "distance", "attributes")


def results_csv(faces: tuple[Face, ...], people: dict[str, Person]) -> bytes:
    """One row per face: its box, and the person named (id, name, distance, attributes) or blanks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for index, face in enumerate(faces):
        top, right, bottom, left = face.box
        person = people.get(face.person_id) if face.person_id else None
        named = person is not None
        writer.writerow((
            index, top, right, bottom, left,
            person.id if named else "",
            person.name if named else "",
            f"{face.distance:.4f}" if named and face.distance is not None else "",
            json.dumps(person.attributes, sort_keys=True) if named and person.attributes else "",
        ))
    return out.getvalue().encode()
