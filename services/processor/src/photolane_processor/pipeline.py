"""One photo through the transforms: upright, mirrored, thumbnail, faces. Pure, timed per stage."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from photolane_common.domain import Box, Face

from .imaging import Rendition, encode, encode_jpeg, mirrored, open_oriented, thumbnail


class Detector(Protocol):
    def detect(self, image: Image.Image) -> list[Box]: ...


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


def render(data: bytes, detector: Detector, thumbnail_px: int, quality: int = 92) -> Outputs:
    """Everything the processor makes of one original (raises UnreadableImage)."""
    timings: dict[str, float] = {}
    with _timed(timings, "decode"):
        upright, source_format = open_oriented(data)
    with _timed(timings, "flip"):
        flipped = encode(mirrored(upright), source_format, quality)
    with _timed(timings, "thumbnail"):
        thumb = encode_jpeg(thumbnail(upright, thumbnail_px))
    with _timed(timings, "detect"):
        boxes = detector.detect(upright)
    faces = tuple(Face(box=box) for box in boxes)
    return Outputs(flipped, thumb, faces, upright.width, upright.height, timings)


RESULT_COLUMNS = ("face", "top", "right", "bottom", "left", "person_id", "name", "distance", "attributes")


def results_csv(faces: tuple[Face, ...]) -> bytes:
    """One row per face (people are named once enrollment exists)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for index, face in enumerate(faces):
        top, right, bottom, left = face.box
        distance = "" if face.distance is None else f"{face.distance:.4f}"
        writer.writerow((index, top, right, bottom, left, face.person_id or "", "", distance, ""))
    return out.getvalue().encode()
