"""The photo as the services see it: plain data, no AWS."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Box = tuple[int, int, int, int]  # top, right, bottom, left, in pixels of the EXIF-corrected image
Channel = Literal["sms", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "email")

QUEUED, PROCESSING, PROCESSED, FAILED = "queued", "processing", "processed", "failed"
# Its owner or the admin deleted it: shown nowhere any more, and erased with everything made from it
# by the processor (erasure.py); the record goes last.
ERASING = "erasing"


ENROLLING, ENROLLED = "enrolling", "enrolled"

# Where people, photos and unknown faces live when nobody said otherwise: everything from before
# collections existed, and every deployment that never creates one.
DEFAULT_COLLECTION = "default"


@dataclass(frozen=True)
class Collection:
    """A group of people whose photos are matched only against each other (a class, a team, a family)."""

    id: str
    name: str
    created_at: datetime
    attributes: dict[str, object] = field(default_factory=dict)
    links: tuple[UploadLink, ...] = ()
    status: str = "active"  # active | deleting (its erasure has begun: nothing more goes in)


@dataclass(frozen=True)
class UploadLink:
    """A URL an admin handed out to upload straight into one collection (its code is never kept)."""

    id: str
    hash: str  # SHA-256 of the code: the settings table's "upload-link:<hash>"
    label: str
    created_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Face:
    box: Box
    person_id: str | None = None
    distance: float | None = None
    encoding: bytes | None = None  # 128 float32 values
    cluster: str | None = None  # an unknown face's group of similar unknown faces
    crop: str | None = None  # the key of its picture (a square JPEG around it), once made
    rejected: tuple[str, ...] = ()  # people it was said not to be: never named or suggested them again
    # Not named, but maybe this person (the naming policy was not sure): asked, never notified.
    suggestion: str | None = None
    suggestion_distance: float | None = None
    # How the face got its name: "match" (the naming policy), "admin" or "owner" (named or confirmed by).
    named_by: str | None = None


@dataclass(frozen=True)
class PersonPhoto:
    key: str
    status: str  # enrolling | enrolled | failed
    error: str | None = None
    encoding: bytes | None = None
    source: str | None = None  # "<photo id>#<face index>": the face the sample was taken from, if any


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    status: str  # enrolling | enrolled | failed
    created_at: datetime
    attributes: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    photos: tuple[PersonPhoto, ...] = ()
    collection: str = DEFAULT_COLLECTION

    @property
    def encodings(self) -> tuple[bytes, ...]:
        return tuple(p.encoding for p in self.photos if p.encoding is not None)


def person_status(photos: tuple[PersonPhoto, ...]) -> tuple[str, str | None]:
    """A person is enrolling while a photo is; enrolled once one has an encoding; else failed."""
    if any(p.status == ENROLLING for p in photos):
        return ENROLLING, None
    if any(p.status == ENROLLED for p in photos):
        return ENROLLED, None
    errors = [p.error for p in photos if p.error]
    return FAILED, errors[-1] if errors else "no enrollment photo"


def owner_of(email: str | None) -> str | None:
    """Whose gallery a photo is in: its email, compared without case (Me@x and me@x are one person)."""
    return email.strip().lower() if email else None


def email_hash(email: str) -> str:
    """What the logs and the sign-in throttle use instead of the address (the same for any case)."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    to: str
    # sending | sent | failed | refused (a limit: never tried) | uncertain (its sender died mid-send: never repeated)
    # | deferred (an SMS waiting for the deployment's SMS ceiling to reopen: sent then, once)
    status: str
    claimed_at: datetime
    sent_at: datetime | None = None
    error: str | None = None
    until: datetime | None = None  # deferred: the end of the ceiling's window it waits for
    # | batched (waiting to go in one message with the recipient's other photos of a few minutes): its batch's
    # key while it waits; ``note`` says what happened ("in one message with 17 other photos")
    batch: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Sideways:
    """A photo saved sideways (no orientation flag): no face upright, some once turned a quarter."""

    turn: int  # degrees clockwise that set it upright: 90 or 270
    faces: int  # the faces found once turned

    @property
    def hint(self) -> str:
        way = "a quarter clockwise (90° right)" if self.turn == 90 else "a quarter anticlockwise (90° left)"
        faces = "1 face" if self.faces == 1 else f"{self.faces} faces"
        return f"This photo looks sideways: turned {way} it has {faces}. Rotate it and upload it again."


@dataclass(frozen=True)
class Photo:
    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    content_type: str
    original_key: str
    email: str | None = None
    phone: str | None = None
    filename: str | None = None
    flipped_key: str | None = None
    thumbnail_key: str | None = None
    results_key: str | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None
    faces: tuple[Face, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    pending: str | None = None  # its shard while not yet processed and notified (the reconciler's index)
    nudges: int = 0  # how often the reconciler sent its message again
    revision: int | None = None  # the faces' optimistic lock (photos.change_faces)
    collection: str = DEFAULT_COLLECTION  # whose people its faces are matched against
    sideways: Sideways | None = None  # processed with no face upright, but some turned a quarter

    def recipient(self, channel: Channel) -> str | None:
        return self.phone if channel == "sms" else self.email

    def delivery(self, channel: Channel) -> Delivery | None:
        return next((d for d in self.deliveries if d.channel == channel), None)


@dataclass(frozen=True)
class ProcessedImage:
    """What the processor made of one photo."""

    flipped_key: str
    thumbnail_key: str
    results_key: str
    width: int
    height: int
    faces: tuple[Face, ...] = field(default_factory=tuple)
    sideways: Sideways | None = None
