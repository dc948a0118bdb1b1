"""A photo's faces as one binary value of its record (pure: no AWS).

One value instead of a list of maps of up to 13 attributes a face: a record's bytes (and so its read
and write units) shrink, and every reader and writer of the item handles one value, not dozens (on the
local stand-in a request's cost follows the number of values). Layout: ``MAGIC``, the length of a JSON
header (4 bytes, big-endian), the header (a list: each face's fields that are set, and its encoding's
length), then the faces' encodings, raw, in face order. Raw, not base64: an erasure's search for an
encoding's bytes finds them in the record as it finds them anywhere else.
"""

from __future__ import annotations

import json
import struct

from .domain import Face

MAGIC = b"PLF1"
_LENGTH = struct.Struct(">I")
_OPTIONAL = ("person_id", "distance", "cluster", "crop", "suggestion", "suggestion_distance", "named_by")


class BadPackedFaces(ValueError):
    """The value is not faces packed by ``pack``."""


def pack(faces: tuple[Face, ...] | list[Face]) -> bytes:
    header = [_fields(face) for face in faces]
    text = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([MAGIC, _LENGTH.pack(len(text)), text, *(face.encoding or b"" for face in faces)])


def _fields(face: Face) -> dict[str, object]:
    fields: dict[str, object] = {"box": list(face.box)}
    fields |= {name: getattr(face, name) for name in _OPTIONAL if getattr(face, name) is not None}
    if face.rejected:
        fields["rejected"] = list(face.rejected)
    if face.encoding is not None:
        fields["encoding"] = len(face.encoding)
    return fields


def unpack(data: bytes) -> tuple[Face, ...]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LENGTH.size:
        raise BadPackedFaces("not packed faces")
    start = len(MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    try:
        header = json.loads(data[start:start + length])
    except ValueError as exc:
        raise BadPackedFaces(f"a bad header: {exc}") from exc
    offset, faces = start + length, []
    try:
        for fields in header:
            face, offset = _face(dict(fields), data, offset)
            faces.append(face)
    except (TypeError, ValueError, KeyError) as exc:
        raise BadPackedFaces(f"a bad face: {exc}") from exc
    if offset != len(data):
        raise BadPackedFaces("bytes left after the faces")
    return tuple(faces)


def _face(fields: dict[str, object], data: bytes, offset: int) -> tuple[Face, int]:
    """One face from its header fields, its encoding the next bytes from ``offset``."""
    size = fields.pop("encoding", None)
    encoding = None
    if size is not None:
        encoding = data[offset:offset + int(size)]  # type: ignore[call-overload]
        if len(encoding) != size:
            raise ValueError("an encoding cut short")
        offset += len(encoding)
    box = tuple(int(v) for v in fields.pop("box"))  # type: ignore[attr-defined]
    if len(box) != 4:
        raise ValueError("a box is four numbers")
    rejected = tuple(fields.pop("rejected", ()))  # type: ignore[arg-type]
    # A field this version does not know (written by a newer one, mid-deployment) is left out, not refused.
    known = {name: value for name, value in fields.items() if name in _OPTIONAL}
    return Face(box=box, encoding=encoding, rejected=rejected, **known), offset  # type: ignore[arg-type]
