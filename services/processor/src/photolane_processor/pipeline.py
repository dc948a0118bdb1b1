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

from photolane_common.domain import DEFAULT_COLLECTION, Box, Face, Person, Sideways

from . import jpeg
from .faces import scale_box
from .imaging import (
    Decoded,
    Rendition,
    decode_for_work,
    encode,
    encode_jpeg,
    face_picture,
    full_size_regions,
    mirrored,
    open_oriented,
    thumbnail,
)
from .matching import FaceIndex, to_bytes
from .policy import NamingPolicy, Verdict


class Detector(Protocol):
    def detect(self, image: Image.Image) -> list[Box]: ...
    def glance(self, image: Image.Image) -> list[float]: ...


class Encoder(Protocol):
    def encode(self, image: Image.Image, boxes: list[Box]) -> list[np.ndarray]: ...
    def encode_many(self, work: list[tuple[Image.Image, list[Box]]]) -> list[list[np.ndarray]]: ...


@dataclass
class Outputs:
    flipped: Rendition
    thumbnail: Rendition
    faces: tuple[Face, ...]
    width: int
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    pictures: tuple[bytes, ...] = ()  # a square JPEG of each face, in the faces' order
    sideways: Sideways | None = None  # no face upright, some turned a quarter: a hint for the uploader


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True)
class Recognition:
    """What naming the faces needs: the model parts, the enrolled people's templates, the policy."""

    detector: Detector
    encoder: Encoder
    index: FaceIndex
    policy: NamingPolicy


def render(data: bytes, recognition: Recognition, thumbnail_px: int, quality: int = 92,
           work_px: int = 2000) -> Outputs:
    """Everything the processor makes of one original (raises UnreadableImage).

    One decode, DCT-scaled to about ``work_px``, feeds the thumbnail, the detector and the encoder;
    the flipped copy of a JPEG is a lossless transform of the original's coefficients.
    """
    timings: dict[str, float] = {}
    with _timed(timings, "decode"):
        decoded = decode_for_work(data, work_px)
    with _timed(timings, "flip"):
        flipped = _flipped(data, decoded, quality)
    with _timed(timings, "thumbnail"):
        thumb = encode_jpeg(thumbnail(decoded.image, thumbnail_px))
    work = decoded.image
    with _timed(timings, "detect"):
        boxes = recognition.detector.detect(work)
    turned = None
    if not boxes:
        with _timed(timings, "sideways"):
            turned = sideways(work, recognition.detector)
    with _timed(timings, "encode"):
        encodings = _encodings(data, decoded, boxes, recognition.encoder)
    with _timed(timings, "match"):
        verdicts = recognition.index.decide(np.array(encodings), recognition.policy) if encodings else []
    faces = tuple(
        _face(scale_box(box, decoded.scale, decoded.size), verdict, to_bytes(e))
        for box, verdict, e in zip(boxes, verdicts, encodings, strict=True)
    )
    with _timed(timings, "pictures"):
        pictures = tuple(face_picture(work, face.box, decoded.scale) for face in faces)
    return Outputs(flipped, thumb, faces, decoded.size[0], decoded.size[1], timings, pictures, turned)


# The quarter turns tried on a photo with no face upright, by the clockwise turn that sets it upright.
TURNS = {90: Image.Transpose.ROTATE_270, 270: Image.Transpose.ROTATE_90}  # PIL turns anticlockwise
# The HOG score a face turned a quarter needs for a hint: a real face scores 1.5-2.5, while a chin or an
# ear seen the wrong way up, found at the other turn, scores about 0.1-0.3 (BENCHMARKS.md).
SIDEWAYS_SCORE = 0.8


def sideways(image: Image.Image, detector: Detector) -> Sideways | None:
    """The quarter turn that shows faces in a photo with none upright, if one does: the turn whose
    faces score most (the other may find a false face too), with the number it finds.

    A hint only, the faces stay unfound: turned, the boxes would not fit the photo as everyone sees it,
    and a photo that is sideways on purpose is not turned behind its owner's back. Two glances (HOG
    with one upsampling less than the detection), only for photos without a face upright: about half
    the upright detection's time (BENCHMARKS.md, "Sideways photos")."""
    scores = {turn: detector.glance(image.transpose(transpose)) for turn, transpose in TURNS.items()}
    turn = max(scores, key=lambda t: sum(scores[t]))
    faces = scores[turn]
    return Sideways(turn, len(faces)) if faces and max(faces) >= SIDEWAYS_SCORE else None


def _face(box: Box, verdict: Verdict, encoding: bytes) -> Face:
    suggested = verdict.suggestion
    return Face(box, verdict.person_id, verdict.distance, encoding,
                suggestion=suggested.person_id if suggested else None,
                suggestion_distance=suggested.distance if suggested else None,
                named_by="match" if verdict.person_id else None)


# dlib aligns each face to a 150 px chip: a face smaller than that in the scaled decode is encoded
# from the full-size image instead, so its encoding stays close to the full-size one.
CHIP_PX = 150


def _encodings(data: bytes, decoded: Decoded, boxes: list[Box], encoder: Encoder) -> list[np.ndarray]:
    """Each face's encoding, from the scaled decode when the face is large enough in it, else at full
    resolution from a lossless crop around it (or a full decode); all faces in one batch."""
    small = {i for i, (_, right, _, left) in enumerate(boxes) if right - left < CHIP_PX} if decoded.scale < 1 else set()
    large = [i for i in range(len(boxes)) if i not in small]
    work: list[tuple[Image.Image, list[Box]]] = [(decoded.image, [boxes[i] for i in large])]
    order = sorted(small)
    if order:
        work += _full_size_work(data, decoded, [scale_box(boxes[i], decoded.scale, decoded.size) for i in order])
    batches = encoder.encode_many(work)
    encodings = dict(zip(large, batches[0], strict=True))
    encodings.update(zip(order, [e for batch in batches[1:] for e in batch], strict=True))
    return [encodings[i] for i in range(len(boxes))]


def _full_size_work(data: bytes, decoded: Decoded, boxes: list[Box]) -> list[tuple[Image.Image, list[Box]]]:
    """Full-resolution images for these boxes: a lossless crop around each (one pass over the JPEG's
    coefficients), or the full decode when the JPEG cannot be cut so."""
    rects = [(left - (right - left), top - (right - left), right + (right - left), bottom + (right - left))
             for top, right, bottom, left in boxes]  # landmarks and the chip need context around the face
    pieces = full_size_regions(data, decoded, rects)
    if pieces is None:
        return [(open_oriented(data)[0], boxes)]
    return [
        (piece, [(top - y0, right - x0, bottom - y0, left - x0)])
        for (piece, (x0, y0, _, _)), (top, right, bottom, left) in zip(pieces, boxes, strict=True)
    ]


def _flipped(data: bytes, decoded: Decoded, quality: int) -> Rendition:
    """Lossless for a block-aligned JPEG; otherwise decoded in full, mirrored and encoded again."""
    if decoded.source_format == "JPEG":
        lossless = jpeg.mirror(data, decoded.orientation, decoded.icc_profile)
        if lossless is not None:
            return Rendition(lossless, "image/jpeg", "jpg")
    full = decoded.image if decoded.image.size == decoded.size else open_oriented(data)[0]
    return encode(mirrored(full), decoded.source_format, quality)


RESULT_COLUMNS = ("face", "top", "right", "bottom", "left", "person_id", "name", "distance", "attributes",
                  "collection")


def results_csv(faces: tuple[Face, ...], people: dict[str, Person], collection: str = DEFAULT_COLLECTION) -> bytes:
    """One row per face: its box, the person named (id, name, distance, attributes) or blanks, and the
    collection the face was matched in."""
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
            collection,
        ))
    return out.getvalue().encode()
