"""The message contract: an envelope around typed data, carrying ids and S3 keys, never bytes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from .domain import DEFAULT_COLLECTION

VERSION = 1


class InvalidMessage(ValueError):
    """A message that can never be handled: it goes to the dead-letter queue at once."""


class PhotoUploaded(BaseModel):
    model_config = ConfigDict(extra="ignore")
    photo_id: str = Field(min_length=1)
    original_key: str = Field(min_length=1)


class PhotoProcessed(BaseModel):
    model_config = ConfigDict(extra="ignore")
    photo_id: str = Field(min_length=1)
    status: Literal["processed", "failed"]


class PersonPhotoAdded(BaseModel):
    """An enrollment photo of a person is in S3: compute its face encoding."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    photo_key: str = Field(min_length=1)


class PersonDeleted(BaseModel):
    """A person is gone: un-name their faces."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    collection: str = DEFAULT_COLLECTION  # theirs (the record is gone): whose photos to match again


class FaceNamed(BaseModel):
    """An admin named a face of a processed photo: its encoding enrolls the person (``photo_key`` is
    where the face's picture goes, already on the person as enrolling), then the past is re-matched."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    photo_id: str = Field(min_length=1)
    face_index: int = Field(ge=0)
    photo_key: str = Field(min_length=1)
    cluster: str | None = None  # the face's cluster when it was named (its pointer there goes)
    by: Literal["admin", "owner"] = "admin"  # who named it (an owner confirms a suggestion)


class ClusterNamed(BaseModel):
    """An admin named a cluster of unknown faces: every face in it is this person; the cluster's cover
    face enrolls them (its picture at ``photo_key``)."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    cluster: str = Field(min_length=1)
    photo_key: str = Field(min_length=1)


class FaceUnnamed(BaseModel):
    """An admin or the photo's owner said a face is not this person: unknown again, never matched to
    them again, and the samples that made it theirs removed (``suggestion``: it was only suggested to
    be them: no sample of theirs named it)."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    photo_id: str = Field(min_length=1)
    face_index: int = Field(ge=0)
    suggestion: bool = False
    # The photo's owner may only take back what their own photo gave: samples taken from its faces.
    by: Literal["admin", "owner"] = "admin"


class PeopleMerged(BaseModel):
    """Two records of one person: ``merged_id``'s encodings and faces move to ``person_id``, then it is deleted."""

    model_config = ConfigDict(extra="ignore")
    person_id: str = Field(min_length=1)
    merged_id: str = Field(min_length=1)


class CollectionDeleted(BaseModel):
    """A collection is being deleted: erase its people, photos, faces, indexes and links, then its record."""

    model_config = ConfigDict(extra="ignore")
    collection: str = Field(min_length=1, max_length=40)


class PhotoDeleted(BaseModel):
    """A photo marked ``erasing`` by its owner or the admin: erase it and everything made from it (its
    objects, faces, samples, index rows and snapshots, feed entries), then its record."""

    model_config = ConfigDict(extra="ignore")
    photo_id: str = Field(min_length=1, max_length=64)


class OwnerPhotosDeleted(BaseModel):
    """A signed-in owner deleted all their photos: each one sent before ``before`` is marked ``erasing``
    and gets a ``photo.deleted`` of its own."""

    model_config = ConfigDict(extra="ignore")
    owner: str = Field(min_length=3, max_length=320)  # the gallery's email, lower case (domain.owner_of)
    before: datetime


class RetentionSweepDue(BaseModel):
    """Time for the retention sweep (on AWS an hourly schedule sends it: a processor scaled to zero is
    started by it); the processor also sweeps by itself, at start and once an hour while it runs."""

    model_config = ConfigDict(extra="ignore")


REPLY_QUEUE_PREFIX = "photolane-replies-"
MAX_NUMBERS = 10_000  # fits an SQS message (256 KiB) with room to spare


class StatsRequested(BaseModel):
    """Numbers to summarize; the answer goes to the named reply queue.

    ``numbers`` is taken as sent: the processor checks it and answers an error for anything that is
    not a list of finite numbers, so a client always gets an answer. Only a reply queue the client
    made under the prefix can be named (the processor never writes to other queues).
    """

    model_config = ConfigDict(extra="ignore")
    request_id: str = Field(min_length=1, max_length=100)
    numbers: JsonValue = None
    reply_queue: str = Field(pattern=rf"^{REPLY_QUEUE_PREFIX}[A-Za-z0-9_-]{{1,60}}$")


class StatsAnswered(BaseModel):
    """The summary of one request, or why there is none (``error``)."""

    model_config = ConfigDict(extra="ignore")
    request_id: str
    count: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None
    error: str | None = None


class SigninRequested(BaseModel):
    """Someone asked for a sign-in link to their gallery: send it to the email, never to a phone (the
    email is the one channel that proves who owns the gallery; a ``phone`` in an older message is ignored).

    ``link`` carries a signed, expiring token: it is a credential, never logged or published.
    """

    model_config = ConfigDict(extra="ignore")
    email: str = Field(min_length=3)
    link: str = Field(min_length=1)
    # How long the link works: the upload service signs it, the message says it (one setting, not two).
    valid_seconds: int = Field(default=1800, ge=60)


class S3Object(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)  # decoded (S3 events URL-encode it)
    size: int = 0
    etag: str = ""


class S3ObjectsCreated(BaseModel):
    """An S3 event notification (objects put straight into the bucket), in the envelope's terms."""

    model_config = ConfigDict(extra="ignore")
    objects: list[S3Object]


MESSAGE_TYPES: dict[str, type[BaseModel]] = {
    "photo.uploaded": PhotoUploaded,
    "photo.processed": PhotoProcessed,
    "person.photo_added": PersonPhotoAdded,
    "person.deleted": PersonDeleted,
    "person.face_named": FaceNamed,
    "person.cluster_named": ClusterNamed,
    "person.face_unnamed": FaceUnnamed,
    "person.merged": PeopleMerged,
    "collection.deleted": CollectionDeleted,
    "photo.deleted": PhotoDeleted,
    "owner.photos_deleted": OwnerPhotosDeleted,
    "retention.sweep_due": RetentionSweepDue,
    "stats.requested": StatsRequested,
    "stats.answered": StatsAnswered,
    "signin.requested": SigninRequested,
    "s3.objects_created": S3ObjectsCreated,
    "s3.test": S3ObjectsCreated,  # the test event S3 sends when a notification is configured
}
_TYPE_NAMES = {model: name for name, model in MESSAGE_TYPES.items()}


_Payload = TypeVar("_Payload", bound=BaseModel)


class Envelope(BaseModel):
    type: str
    version: int = VERSION
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any]

    def payload(self) -> BaseModel:
        """The data as its typed model (raises InvalidMessage)."""
        model = MESSAGE_TYPES.get(self.type)
        if model is None:
            raise InvalidMessage(f"unknown message type {self.type!r}")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidMessage(f"bad {self.type} data: {exc.errors()[0]['msg']}") from exc


    def expect(self, model: type[_Payload]) -> _Payload:
        """The data as ``model``; any other type can never be handled here (InvalidMessage)."""
        payload = self.payload()
        if not isinstance(payload, model):
            raise InvalidMessage(f"{self.type} is not handled here (expects {_TYPE_NAMES[model]})")
        return payload


def encode(data: BaseModel) -> str:
    """The JSON body of a message carrying this data."""
    return Envelope(type=_TYPE_NAMES[type(data)], data=data.model_dump()).model_dump_json()


def _from_s3_event(raw: dict[str, Any]) -> dict[str, Any]:
    """An S3 event notification as an envelope: object keys decoded, only creations kept."""
    if raw.get("Event") == "s3:TestEvent":
        return {"type": "s3.test", "data": {"objects": []}}
    objects = []
    for record in raw.get("Records") or []:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise InvalidMessage("not an S3 event record")
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        item = s3.get("object") or {}
        objects.append({"bucket": (s3.get("bucket") or {}).get("name", ""), "key": unquote_plus(item.get("key", "")),
                        "size": item.get("size") or 0, "etag": item.get("eTag") or ""})
    return {"type": "s3.objects_created", "data": {"objects": objects}}


def decode(body: str) -> Envelope:
    """Parse and check one message body (raises InvalidMessage)."""
    try:
        raw = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidMessage("not a JSON object")
    if "Records" in raw or raw.get("Event") == "s3:TestEvent":
        raw = _from_s3_event(raw)
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise InvalidMessage(f"bad envelope: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from exc
    if envelope.version != VERSION:
        raise InvalidMessage(f"unsupported version {envelope.version}")
    envelope.payload()
    return envelope
