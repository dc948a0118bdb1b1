"""The JSON API's bodies and answers as pydantic models: the source of /api/openapi.json.

Nothing here validates a request (the handlers and ``validation.py`` do, with their own messages): these
models *describe* what the handlers take and give, field for field, and the tests check real answers
against them (``tests/integration/test_openapi.py``, and Schemathesis against the running stack).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# -- pieces ----------------------------------------------------------------------------------------
Attributes = Annotated[
    dict[str, str | int | float | bool | None],
    Field(description='A JSON object of simple values (strings, numbers, true/false, null), e.g. {"role": "student"}'),
]
Box = Annotated[list[int], Field(min_length=4, max_length=4,
                                 description="top, right, bottom, left in pixels of the upright original")]
Stamp = Annotated[str, Field(description="ISO 8601 date and time")]
Url = Annotated[str | None, Field(description="a presigned S3 URL (expires), or null when there is no such image")]
Cursor = Annotated[str | None, Field(description="the cursor of the next page (`?cursor=`), or null on the last")]
PhotoStatus = Literal["queued", "processing", "processed", "failed"]
PersonStatus = Literal["enrolling", "enrolled", "failed"]
CollectionId = Annotated[str, Field(description="the collection (`default`: the one everything is in unless said)")]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(description: str, **limits: Any) -> Any:
    """A field that may be left out (no default in the schema: the handler has its own)."""
    return Field(None, description=description, json_schema_extra=_no_default, **limits)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(Model):
    """Every refusal and failure of the API: what is wrong, in a sentence."""

    error: str


class Health(Model):
    status: Literal["ok"]


# -- photos ----------------------------------------------------------------------------------------
class PhotoUpload(BaseModel):
    """`multipart/form-data` of `POST /api/photos`."""

    file: bytes = Field(description="the photo: JPEG, PNG, WebP or HEIC, at most PHOTOLANE_MAX_UPLOAD_MB")
    email: str = optional("where to send the link when it is processed (optional)")
    phone: str = optional("E.164 mobile number for an SMS (optional; allowed countries only)")
    link: str = optional("an upload link's code: the photo goes into that link's collection (optional)")
    collection: str = optional("the collection to match it in; other than `default` it takes the admin token "
                               "(optional)")


class PhotoAccepted(Model):
    id: str
    status: Literal["queued"]
    collection: CollectionId
    url: str = Field(description="/api/photos/<id>: follow it until processed or failed")
    page: str = Field(description="/photos/<id>: the photo's page")


class ContactsCheck(Model):
    """`POST /api/contacts/check`: the email and phone an upload would carry, as typed."""

    email: str | None = optional("an email (optional: empty or null for none)")
    phone: str | None = optional("a mobile number with its country code (optional: empty or null for none)")


class Contacts(Model):
    """Both as an upload would store them, or null where none was given."""

    email: str | None = Field(description="the email, normalized")
    phone: str | None = Field(description="the phone in E.164 form, e.g. +14155552671")


class PhotoDeleting(Model):
    id: str
    status: Literal["erasing"] = Field(description="shown nowhere from now on; the processor erases it")


class PersonRef(Model):
    id: str
    name: str
    attributes: Attributes


class SuggestionView(Model):
    id: str
    name: str
    distance: float | None = Field(description="distance to the person's template")


class FaceView(Model):
    index: int = Field(ge=0)
    box: Box
    person: PersonRef | None = Field(description="whom the face is, or null while unknown")
    distance: float | None = Field(description="distance to the person's template (lower: surer)")
    cluster: str | None = Field(description="the group of similar unknown faces, when unknown")
    suggestion: SuggestionView | None = Field(
        description="an unknown face's likely person, to confirm or reject (never in results or notifications)")
    named_by: Literal["match", "admin", "owner"] | None = Field(
        description="how the face got its name: the naming policy's match, or named/confirmed by a person")
    crop_url: Url


class NotificationView(Model):
    channel: Literal["sms", "email"]
    to: str = Field(description="in full for the uploader's session, the email's owner and the admin; else masked")
    # deferred: an SMS waiting for the deployment's SMS ceiling to reopen (error says until when); sent then
    # batched: waiting to go in one message with the recipient's other photos of a few minutes (the notifier's
    # PHOTOLANE_BATCH_WINDOW_SECONDS)
    status: Literal["sending", "sent", "failed", "refused", "uncertain", "deferred", "batched"]
    error: str | None
    note: str | None = Field(description="what else to know: a batched one's message, e.g. "
                                         "'in one message with 17 other photos'")
    sent_at: Stamp | None


class SidewaysView(Model):
    turn: Literal[90, 270] = Field(description="degrees clockwise that set the photo upright")
    faces: int = Field(ge=1, description="the faces found once turned")
    hint: str = Field(description="the sentence the photo page shows, e.g. 'This photo looks sideways: turned "
                                  "a quarter clockwise (90° right) it has 2 faces. Rotate it and upload it again.'")


class PhotoView(Model):
    id: str
    status: PhotoStatus
    collection: CollectionId
    error: str | None
    filename: str | None
    width: int | None
    height: int | None
    created_at: Stamp
    updated_at: Stamp
    original_url: Url
    flipped_url: Url
    thumbnail_url: Url
    results_url: Url
    faces: list[FaceView]
    sideways: SidewaysView | None = Field(
        description="processed with no face upright but some once turned a quarter (a photo saved sideways "
                    "without an orientation flag): a hint to turn it and upload it again; null otherwise")
    notifications: list[NotificationView]


# -- people ----------------------------------------------------------------------------------------
class PersonPhotoView(Model):
    status: PersonStatus
    error: str | None
    url: Url
    source: str | None = Field(description="the face this sample was taken from (/photos/<id> and the face's "
                                           "index, as <photo id>#<index>), null for a photo sent to enroll them")


class PersonView(Model):
    id: str
    name: str
    collection: CollectionId
    attributes: Attributes
    status: PersonStatus
    error: str | None
    created_at: Stamp
    photos: list[PersonPhotoView]


class PeoplePage(Model):
    people: list[PersonView]
    next: Cursor


class Enrollment(BaseModel):
    """`multipart/form-data` of `POST /api/people`."""

    name: str = Field(description="the person's name (at most 100 characters)")
    photo: list[bytes] = Field(min_length=1, max_length=10,
                               description="one face each; repeat the field for several photos (at most 10)")
    attributes: str = optional('a JSON object of simple values, e.g. {"role": "student"} (optional)')
    collection: str = optional("the collection the person is matched in (optional; `default` if left out)")


class PersonPhotoUpload(BaseModel):
    """`multipart/form-data` of `POST /api/people/<id>/photos`."""

    photo: bytes = Field(description="one more photo of the person's face")


class Enrolling(Model):
    id: str
    status: PersonStatus
    collection: CollectionId
    photos: int = Field(description="how many photos are being encoded")
    url: str


class PhotoAdded(Model):
    id: str
    status: PersonStatus
    url: str


class PersonDeleted(Model):
    id: str
    status: Literal["deleted"]


class PersonEdit(BaseModel):
    """A new name and/or new attributes (at least one of the two)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada King", "attributes": {"born": 1815}}]})

    name: str = optional("the new name (at most 100 characters)")
    attributes: Attributes | str | None = optional("the new attributes (an object, or its JSON text)")


class Merge(BaseModel):
    """The other person: their encodings and faces become this person's, then they are deleted."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"person_id": "4f0c1c2e-5b1a-4e8e-9d6b-1a2b3c4d5e6f"}]})

    person_id: str


# -- faces -----------------------------------------------------------------------------------------
class NewPerson(BaseModel):
    """The face is a new person."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada", "attributes": {"role": "engineer"}}]})

    name: str = Field(description="at most 100 characters")
    attributes: Attributes | str | None = optional("an object, or its JSON text (optional)")


class KnownPerson(BaseModel):
    """The face is an enrolled person."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"person_id": "4f0c1c2e-5b1a-4e8e-9d6b-1a2b3c4d5e6f"}]})

    person_id: str


Who = Annotated[NewPerson | KnownPerson, Field(description="a new person (name) or an enrolled one (person_id)")]


class Unnaming(Model):
    photo_id: str
    index: int
    person_id: str = Field(description="the person the face was named")
    status: Literal["unnaming"]


class SuggestionRejected(Model):
    photo_id: str
    index: int
    person_id: str = Field(description="the person the face was suggested to be")
    status: Literal["rejecting"]


class Cover(Model):
    photo_id: str
    index: int


class ClusterView(Model):
    id: str
    collection: CollectionId
    faces: int
    photos: int
    photo_ids: list[str] = Field(description="a few of its photos")
    crop_url: Url
    cover: Cover | None
    url: str
    hidden: bool = Field(description="hidden by the admin: listed only with `?hidden=true`, not named as a group")


class ClusterPage(Model):
    clusters: list[ClusterView]
    next: Cursor


class PersonFace(Model):
    photo_id: str
    index: int
    box: Box
    crop_url: Url
    thumbnail_url: Url
    filename: str | None
    created_at: Stamp
    page: str
    named_by: Literal["match", "admin", "owner"] | None = Field(
        description="how the face got the name: the naming policy's match, or named/confirmed by a person")
    distance: float | None = Field(description="the face's distance to the person's template when named")


class PersonPhotosPage(Model):
    person: PersonView
    faces: list[PersonFace]
    next: Cursor


class Page(BaseModel):
    """`?limit=` and `?cursor=` of the paged lists."""

    limit: int = optional("how many (1-100)", ge=1, le=100)
    cursor: str = optional("the `next` of the page before")


class CollectionPage(Page):
    """`?limit=`, `?cursor=` and `?collection=` of a list by collection."""

    collection: str = optional("only this collection's (`default` if left out, for faces)")


class UnknownPage(CollectionPage):
    """`?limit=`, `?cursor=`, `?collection=` and `?hidden=` of the unknown people."""

    hidden: bool = optional("`true`: the hidden ones instead (`false` if left out)")


# -- collections -------------------------------------------------------------------------------------
class NewCollection(BaseModel):
    """The body of `POST /api/collections`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "7b", "name": "Class 7B", "attributes": {"school": "Hill School", "year": "2026"}}]})
    id: str = Field(description="1 to 40 lower-case letters, digits, '-' or '_' (upper case is folded)")
    name: str = Field(description="at most 100 characters")
    attributes: Attributes | str | None = optional("an object, or its JSON text (optional)")


class LinkView(Model):
    id: str
    label: str
    created_at: Stamp
    expires_at: Stamp | None


class CollectionView(Model):
    id: CollectionId
    name: str
    attributes: Attributes
    status: Literal["active", "deleting"]
    created_at: Stamp
    links: list[LinkView] = Field(description="its upload links (their codes are shown only when made)")
    url: str


class CollectionsPage(Model):
    collections: list[CollectionView]
    next: Cursor


class NewLink(BaseModel):
    """The body of `POST /api/collections/<id>/links` (both optional)."""

    label: str = optional("who it is for, e.g. \"Ms Patel\" (at most 100 characters)")
    days: int = optional("it stops working after so many days (1-366; never, if left out)", ge=1, le=366)


class LinkMade(Model):
    id: str
    code: str = Field(description="shown this once: the link is /u/<code>")
    url: str = Field(description="/u/<code>: the page that uploads into the collection")
    label: str
    created_at: Stamp
    expires_at: Stamp | None


class LinkRevoked(Model):
    id: str
    status: Literal["revoked"]


class CollectionDeleting(Model):
    id: CollectionId
    status: Literal["deleting"]


# -- admin -----------------------------------------------------------------------------------------
class Blocked(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"blocked": False}]})

    blocked: bool


class QueueDepthView(Model):
    name: str = Field(description="the name in the admin routes: jobs, notifications")
    queue: str = Field(description="the SQS queue's own name")
    messages: int
    in_flight: int
    dead_letters: int
    dead_letter_queue: str | None


class Queues(Model):
    queues: list[QueueDepthView]


class Redriven(Model):
    queue: str
    moved: int


class PurgeConfirm(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"confirm": True}]})

    confirm: Literal[True]


class Purged(Model):
    queue: str
    purged: Literal[True]


class ExportFormat(BaseModel):
    format: Literal["json", "csv"] = Field("json", description="json (the default) or csv")
    collection: str | None = Field(None, description="only this collection's people and photos")


class ExportFace(Model):
    box: Box
    person_id: str | None
    name: str | None
    distance: float | None


class ExportNotification(Model):
    channel: Literal["sms", "email"]
    to: str
    status: str
    error: str | None
    sent_at: Stamp | None


class ExportPhoto(Model):
    id: str
    status: PhotoStatus
    collection: CollectionId
    error: str | None
    created_at: Stamp
    updated_at: Stamp
    filename: str | None
    content_type: str
    email: str | None
    phone: str | None
    width: int | None
    height: int | None
    original_key: str
    flipped_key: str | None
    thumbnail_key: str | None
    results_key: str | None
    faces: list[ExportFace]
    notifications: list[ExportNotification]


class ExportPersonPhoto(Model):
    key: str
    status: PersonStatus
    error: str | None


class ExportPerson(Model):
    id: str
    name: str
    collection: CollectionId
    status: PersonStatus
    error: str | None
    attributes: Attributes
    created_at: Stamp
    photos: list[ExportPersonPhoto]


class Export(Model):
    """Every record: S3 keys, not expiring URLs."""

    exported_at: Stamp
    people: list[ExportPerson]
    photos: list[ExportPhoto]
