"""DynamoDB tables as pynamodb models. Table names and endpoint are bound once from settings."""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from .settings import CommonSettings


class FaceAttribute(MapAttribute):
    top = NumberAttribute()
    right = NumberAttribute()
    bottom = NumberAttribute()
    left = NumberAttribute()
    person_id = UnicodeAttribute(null=True)
    distance = NumberAttribute(null=True)
    # 128 float32 values: kept for unknown faces too, so a later enrollment can name them.
    encoding = BinaryAttribute(null=True, legacy_encoding=False)
    # An unknown face's group of similar unknown faces (the faces table's ``cluster:<id>``).
    cluster = UnicodeAttribute(null=True)
    crop = UnicodeAttribute(null=True)  # the key of the face's picture
    rejected = UnicodeAttribute(null=True)  # the people this face was said not to be: their ids, joined by ","
    suggestion = UnicodeAttribute(null=True)  # a person this unknown face may be (not sure enough to name)
    suggestion_distance = NumberAttribute(null=True)
    named_by = UnicodeAttribute(null=True)  # match | admin | owner: how the face got its name


class DeliveryAttribute(MapAttribute):
    """One notification on one channel: claimed first, so it is sent at most once."""

    to = UnicodeAttribute()
    # sending | sent | failed | refused (a limit: never tried) | uncertain (its worker died mid-send: never repeated)
    # | deferred (an SMS waiting for the deployment's SMS ceiling: claimed again when its window reopens)
    status = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    until = UTCDateTimeAttribute(null=True)  # deferred: the end of the window it waits for
    batch = UnicodeAttribute(null=True)  # batched: the key of the batch (notifier/batches.py) it goes in
    note = UnicodeAttribute(null=True)  # what became of it beyond its status ("in one message with 2 other photos")


class OwnerIndex(GlobalSecondaryIndex):
    """A user's photos, newest first (the gallery)."""

    class Meta:
        index_name = "owner-created"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UnknownFacesIndex(GlobalSecondaryIndex):
    """Sparse and sharded: only photos that still have unknown faces carry ``unknown``, one of
    PHOTO_SHARDS values from their id (older records: "yes"). Read only when a processor builds its
    unknown-face index with no snapshot to start from (known.py in the processor)."""

    class Meta:
        index_name = "unknown-faces"
        projection = KeysOnlyProjection()

    unknown = UnicodeAttribute(hash_key=True)


class PendingIndex(GlobalSecondaryIndex):
    """Sparse and sharded: photos not yet through the pipeline (queued, processing, or not yet
    notified) carry ``pending``, one of PENDING_SHARDS values from their id, so the reconciler finds
    the stale ones by a query a shard (``updated_at`` before a cutoff), with no table scan and no
    single hot key. The notifier removes ``pending`` once every channel is settled."""

    class Meta:
        index_name = "pending-updated"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class CreatedIndex(GlobalSecondaryIndex):
    """Sharded: every photo carries ``created_shard``, one of PENDING_SHARDS values from its id, so the
    retention sweep finds the photos created before a cutoff by a query a shard (keys only), no scan.
    Records from before it get theirs once, from the sweep's first run (``PhotoStore.shard_undated``)."""

    class Meta:
        index_name = "shard-created"
        projection = KeysOnlyProjection()

    created_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UncertainIndex(GlobalSecondaryIndex):
    """Sparse: only photos with an ``uncertain`` notification carry ``uncertain`` (the admin page's list;
    rare, so one key serves)."""

    class Meta:
        index_name = "uncertain-deliveries"
        projection = KeysOnlyProjection()

    uncertain = UnicodeAttribute(hash_key=True)


class PhotosByCollectionIndex(GlobalSecondaryIndex):
    """Sparse and sharded: photos of a collection other than the default one carry ``pool`` =
    "<collection>#<shard>" (a large collection is no hot key): found again when it is deleted."""

    class Meta:
        index_name = "photos-by-collection"
        projection = KeysOnlyProjection()

    pool = UnicodeAttribute(hash_key=True)


class PhotoModel(Model):
    class Meta:
        table_name = "photolane-photos"

    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    owner = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute()
    original_key = UnicodeAttribute()
    flipped_key = UnicodeAttribute(null=True)
    thumbnail_key = UnicodeAttribute(null=True)
    results_key = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    # A photo saved sideways: the clockwise quarter turn (90, 270) that shows faces, and how many.
    sideways_turn = NumberAttribute(null=True)
    sideways_faces = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    faces = ListAttribute(of=FaceAttribute, null=True)  # as records before packed_faces held them: read, not written
    # The faces as one value (photolane_common.packed_faces): written instead of ``faces``.
    packed_faces = BinaryAttribute(null=True, legacy_encoding=False)
    sms_delivery = DeliveryAttribute(null=True)
    email_delivery = DeliveryAttribute(null=True)
    unknown = UnicodeAttribute(null=True)  # a shard ("0".."15") while some face is unknown
    person_ids = UnicodeSetAttribute(null=True)  # the people named in it (found again when one is deleted)
    # Optimistic lock of the read-modify-writes of the faces (re-matching, un-naming).
    revision = NumberAttribute(null=True)
    pending = UnicodeAttribute(null=True)  # a shard ("0".."15") until the photo is processed and notified
    nudges = NumberAttribute(null=True)  # how often the reconciler sent its message again
    uncertain = UnicodeAttribute(null=True)  # "yes" once a notification is uncertain
    collection = UnicodeAttribute(null=True)  # absent: the default collection
    pool = UnicodeAttribute(null=True)  # "<collection>#<shard>" outside the default collection
    created_shard = UnicodeAttribute(null=True)  # a shard ("0".."15"): the retention sweep's index
    # With retention: epoch seconds after which the table's TTL deletes the record, a backstop days after
    # the sweep should have erased it (photolane_common.retention).
    expires_at = NumberAttribute(null=True)
    owner_index = OwnerIndex()
    created_index = CreatedIndex()
    collection_index = PhotosByCollectionIndex()
    unknown_index = UnknownFacesIndex()
    pending_index = PendingIndex()
    uncertain_index = UncertainIndex()


class PersonPhotoAttribute(MapAttribute):
    """One enrollment photo of a person and, once computed, its face encoding."""

    key = UnicodeAttribute()
    status = UnicodeAttribute()  # enrolling | enrolled | failed
    error = UnicodeAttribute(null=True)
    encoding = BinaryAttribute(null=True, legacy_encoding=False)
    source = UnicodeAttribute(null=True)  # "<photo id>#<face index>": the face it was taken from


class PeopleByNameIndex(GlobalSecondaryIndex):
    """A person by their exact name (naming a face "as an existing person" by name, at any size)."""

    class Meta:
        index_name = "people-by-name"
        projection = KeysOnlyProjection()

    name = UnicodeAttribute(hash_key=True)


class PeopleByCollectionIndex(GlobalSecondaryIndex):
    """Sparse and sharded: the people of a collection other than the default one carry ``pool`` =
    "<collection>#<shard>" (16 shards from their id: a large collection is no hot key), read when a
    processor loads that collection's index with no snapshot. The default collection's people are
    read by a scan, as before collections existed."""

    class Meta:
        index_name = "people-by-collection"
        projection = KeysOnlyProjection()

    pool = UnicodeAttribute(hash_key=True)


class PersonModel(Model):
    class Meta:
        table_name = "photolane-people"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    attributes = JSONAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    photos = ListAttribute(of=PersonPhotoAttribute, null=True)
    version = VersionAttribute(null=True)
    collection = UnicodeAttribute(null=True)  # absent: the default collection
    pool = UnicodeAttribute(null=True)  # "<collection>#<shard>" outside the default collection
    name_index = PeopleByNameIndex()
    collection_index = PeopleByCollectionIndex()


class SettingModel(Model):
    """Switches an admin flips at run time (e.g. uploads blocked)."""

    class Meta:
        table_name = "photolane-settings"

    key = UnicodeAttribute(hash_key=True)
    value = JSONAttribute(null=True)
    counter = NumberAttribute(null=True)  # for atomic increments
    # Epoch seconds after which the item is dead (the table's TTL): counters, used links, revocations.
    expires_at = NumberAttribute(null=True)
    photos = UnicodeSetAttribute(null=True)  # a notifier batch's member photo ids (notifier/batches.py)


class ClusterSizeIndex(GlobalSecondaryIndex):
    """Sparse: only cluster summaries carry ``listing``; the unknown people, largest first, a page at a
    time (one partition: an admin's listing, written once per photo with unknown faces)."""

    class Meta:
        index_name = "clusters-by-size"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    size = NumberAttribute(range_key=True)


class FaceModel(Model):
    """Every face of every processed photo, filed under who it is, so "the photos of this person" and
    "the faces of this unknown group" are each one query of one partition (no scan, no hot key).

    The photo record is the truth: an entry is a pointer to it, checked against it when read (a
    process that died between the two writes leaves at most a stale pointer)."""

    class Meta:
        table_name = "photolane-faces"

    group = UnicodeAttribute(hash_key=True)  # "person:<person id>", "cluster:<cluster id>", "summary:<cluster id>"
    face = UnicodeAttribute(range_key=True)  # "<photo id>#<face index>" ("-" for a summary)
    photo_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    crop = UnicodeAttribute(null=True)  # the face's picture
    # A cluster's summary (its own partition, recounted from the cluster's entries when they change).
    listing = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)  # faces
    photos = NumberAttribute(null=True)
    sample = ListAttribute(of=UnicodeAttribute, null=True)  # a few photo ids
    cover = UnicodeAttribute(null=True)  # "<photo id>#<face index>" of the face that represents it
    counted = NumberAttribute(null=True)  # how often it was counted: a count writes only over the one it read
    hidden = UTCDateTimeAttribute(null=True)  # when the admin hid the cluster (every count carries it)
    cluster_index = ClusterSizeIndex()


class CollectionModel(Model):
    """A collection: its name and attributes (its people and photos carry its id)."""

    class Meta:
        table_name = "photolane-collections"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    attributes = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # Its upload links as the admin sees them: [{"id", "hash", "label", "created_at", "expires_at"}]
    # (the code itself is never kept: the settings table has "upload-link:<hash>").
    links = JSONAttribute(null=True)
    status = UnicodeAttribute(null=True)  # "deleting" once its erasure has begun
    version = VersionAttribute(null=True)


ALL_MODELS: tuple[type[Model], ...] = (PhotoModel, PersonModel, SettingModel, FaceModel, CollectionModel)


def bind_models(settings: CommonSettings) -> None:
    """Point every model at the configured tables, region and endpoint (before first use)."""
    names = {
        PhotoModel: settings.photos_table,
        PersonModel: settings.people_table,
        SettingModel: settings.settings_table,
        FaceModel: settings.faces_table,
        CollectionModel: settings.collections_table,
    }
    for model, table_name in names.items():
        model.Meta.table_name = table_name
        model.Meta.region = settings.region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None  # drop a connection made for other settings
