"""The photos table behind a small interface: every status change is one conditional write."""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from .collection import (
    hidden_listing,
    people_pools,
    photo_pool,
    unknown_feed,
    unknown_listing,
    unknown_mark,
    unknown_marks,
)
from .cursors import BadCursor, decode_cursor, encode_cursor
from .domain import (
    DEFAULT_COLLECTION,
    ERASING,
    FAILED,
    PROCESSED,
    PROCESSING,
    QUEUED,
    Channel,
    Delivery,
    Face,
    Photo,
    ProcessedImage,
    Sideways,
    owner_of,
)
from .feed import ChangeFeed
from .models import DeliveryAttribute, FaceModel, PhotoModel, SettingModel
from .packed_faces import pack, unpack
from .retention import backstop_expiry


def _now() -> datetime:
    return datetime.now(UTC)


# The pending index's partition keys: a photo's shard comes from its id, so writes spread evenly.
PENDING_SHARDS = 16
# Photos one query reads from the owner's index when a gallery page is filtered by a person
# (``owned_page_naming``): DynamoDB filters each query's items on ``person_ids``.
FILTER_PAGE = 200
# Set once every record carries its ``created_shard`` (the retention sweep's first run shards the older ones).
CREATED_SHARDED = "photos_created_sharded"
UNCERTAIN_ERROR = ("its worker stopped between claiming this channel and recording the send: it may or may "
                   "not have gone out, and is not sent again")


# The default collection's unknown faces' change feed (feed.py): a photo is announced whenever its
# unknown faces change (on its collection's feed, collection.unknown_feed).
UNKNOWN_FEED = unknown_feed(DEFAULT_COLLECTION)
OLD_UNKNOWN_MARK = "yes"  # the unknown index's one key before it was sharded


CLUSTER, SUMMARY = "cluster:", "summary:"  # the faces table's groups: a cluster's faces, its summary
SAMPLE_PHOTOS = 4  # photo ids a summary names


@dataclass(frozen=True)
class FaceRef:
    """One face of one photo, as filed in the faces table."""

    photo_id: str
    index: int
    crop: str | None = None


@dataclass(frozen=True)
class ClusterSummary:
    """A group of similar unknown faces: how many faces and photos, a few of them, the face shown."""

    cluster: str
    faces: int
    photos: int
    sample: tuple[str, ...]
    cover: FaceRef | None
    collection: str = DEFAULT_COLLECTION
    hidden: bool = False  # hidden by the admin: listed under ``hidden_listing``, never named as a group


_UNREAD = object()  # a summary not read beforehand


def _count_again(cluster: str, collection: str = DEFAULT_COLLECTION, attempts: int = 30,
                 read: FaceModel | None | object = _UNREAD, gone: frozenset[str] = frozenset()) -> None:
    """Write a cluster's summary from its entries, or delete it when there are none.

    Two processors counting one cluster at once must not leave the older count last: each count reads
    the summary's ``counted`` number first and writes only if it is unchanged, else counts again. The
    write that lands last then began after every entry its writer made, and no other write came
    between its read and its write, so it saw every entry made before it.

    ``read``: the summary as read just before (a batch read), used by the first attempt. ``gone``: the
    faces just taken out of the cluster; a summary of one face that is one of them is deleted without
    reading the entries (another face filed meanwhile would have changed ``counted``: counted again)."""
    key = f"{SUMMARY}{cluster}"
    for attempt in range(attempts):
        if attempt > 0 or read is _UNREAD:
            try:
                read = FaceModel.get(key, "-", consistent_read=True)
            except DoesNotExist:
                read = None
        current = read if isinstance(read, FaceModel) else None
        counted = int(current.counted or 0) if current is not None else None
        unchanged = FaceModel.counted.does_not_exist() if counted is None else FaceModel.counted == counted
        emptied = current is not None and int(current.size or 0) == 1 and current.cover in gone
        entries = [] if emptied else list(FaceModel.query(f"{CLUSTER}{cluster}", consistent_read=True))
        try:
            if not entries:
                if current is not None:
                    FaceModel(key, "-").delete(condition=unchanged)
                return
            # The face shown stays the same while it is in the cluster (one with a picture, if any has one).
            cover = (next((e for e in entries if current is not None and e.face == current.cover), None)
                     or next((e for e in entries if e.crop), entries[0]))
            photos = list(dict.fromkeys(e.photo_id for e in entries if e.photo_id))
            hidden = current.hidden if current is not None else None  # a hidden cluster stays hidden
            FaceModel(key, "-", created_at=_now(), listing=_listing(collection, hidden is not None),
                      size=len(entries), photos=len(photos), sample=photos[:SAMPLE_PHOTOS], cover=cover.face,
                      crop=cover.crop, counted=(counted or 0) + 1, hidden=hidden).save(condition=unchanged)
            return
        except (PutError, DeleteError) as exc:
            if not _conditional_failed(exc):
                raise
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # counters in step would collide again
    raise RuntimeError(f"cluster {cluster} kept changing under {attempts} counts")


def _listing(collection: str, hidden: bool) -> str:
    """Where a summary is listed: among the collection's unknown people, or its hidden ones."""
    return hidden_listing(collection) if hidden else unknown_listing(collection)


def _collection_of(item: FaceModel) -> str:
    _, _, collection = (item.listing or "").partition("@")  # unknown_listing / hidden_listing(collection)
    return collection or DEFAULT_COLLECTION


def _to_summary(item: FaceModel) -> ClusterSummary:
    cover = None
    if item.cover:
        photo_id, _, index = item.cover.rpartition("#")
        cover = FaceRef(photo_id, int(index), item.crop)
    return ClusterSummary(item.group.removeprefix(SUMMARY), int(item.size or 0), int(item.photos or 0),
                          tuple(item.sample or ()), cover, _collection_of(item), item.hidden is not None)


def pending_shard(photo_id: str) -> str:
    """A photo's shard of the sharded indexes (pending, unknown faces): writes spread over 16 keys."""
    return str(zlib.crc32(photo_id.encode()) % PENDING_SHARDS)


def face_group(face: Face) -> str | None:
    """Where the faces table files a face: under its person, or its cluster of unknown faces."""
    if face.person_id:
        return f"person:{face.person_id}"
    return f"cluster:{face.cluster}" if face.cluster else None


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def _delivery_attr(channel: Channel) -> DeliveryAttribute:
    return PhotoModel.sms_delivery if channel == "sms" else PhotoModel.email_delivery


def _to_photo(item: PhotoModel) -> Photo:
    faces = unpack(item.packed_faces) if item.packed_faces is not None else _listed_faces(item)
    deliveries = tuple(
        Delivery(channel, d.to, d.status, d.claimed_at, d.sent_at, d.error, d.until, d.batch, d.note)
        for channel, d in (("sms", item.sms_delivery), ("email", item.email_delivery))
        if d is not None
    )
    return Photo(
        id=item.id,
        status=item.status,
        created_at=item.created_at,
        updated_at=item.updated_at,
        content_type=item.content_type,
        original_key=item.original_key,
        email=item.email,
        phone=item.phone,
        filename=item.filename,
        flipped_key=item.flipped_key,
        thumbnail_key=item.thumbnail_key,
        results_key=item.results_key,
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        error=item.error,
        faces=faces,
        deliveries=deliveries,
        pending=item.pending,
        nudges=int(item.nudges or 0),
        revision=int(item.revision) if item.revision is not None else None,
        collection=item.collection or DEFAULT_COLLECTION,
        sideways=Sideways(int(item.sideways_turn), int(item.sideways_faces or 0)) if item.sideways_turn else None,
    )


def _listed_faces(item: PhotoModel) -> tuple[Face, ...]:
    """The faces of a record written before they were packed (a list of maps), read as they are."""
    return tuple(
        Face(
            box=(int(f.top), int(f.right), int(f.bottom), int(f.left)),
            person_id=f.person_id,
            distance=float(f.distance) if f.distance is not None else None,
            encoding=f.encoding,
            cluster=f.cluster,
            crop=f.crop,
            rejected=tuple(f.rejected.split(",")) if f.rejected else (),
            suggestion=f.suggestion,
            suggestion_distance=float(f.suggestion_distance) if f.suggestion_distance is not None else None,
            named_by=f.named_by,
        )
        for f in item.faces or []
    )


def _sideways_actions(sideways: Sideways | None) -> list:
    """The record's sideways hint set, or removed (a photo processed again is as this run found it)."""
    if sideways is None:
        return [PhotoModel.sideways_turn.remove(), PhotoModel.sideways_faces.remove()]
    return [PhotoModel.sideways_turn.set(sideways.turn), PhotoModel.sideways_faces.set(sideways.faces)]


def _face_actions(photo_id: str, faces: tuple[Face, ...], collection: str) -> list:
    """Set the faces (packed; a record's list of maps from before goes) and what indexes them: the
    unknown marker (a shard) and the people named."""
    people = {f.person_id for f in faces if f.person_id}
    unknown = any(f.person_id is None for f in faces)
    return [
        PhotoModel.packed_faces.set(pack(faces)),
        PhotoModel.faces.remove(),
        PhotoModel.unknown.set(unknown_mark(collection, photo_id)) if unknown else PhotoModel.unknown.remove(),
        PhotoModel.person_ids.set(people) if people else PhotoModel.person_ids.remove(),
    ]


def older_than(created_at: datetime, photo_id: str) -> str:
    """The cursor of an owner's photos older than this one (``owned_page``)."""
    stamp = UTCDateTimeAttribute().serialize(created_at)
    return encode_cursor({"created_at": {"S": stamp}, "id": {"S": photo_id}}) or ""


def _gallery_start(owner: str, cursor: str | None) -> dict | None:
    """The owner-created index's start key of a gallery cursor (raises BadCursor): the cursor holds a
    photo's time and id, never the owner, so it always reads the gallery of whoever pages with it."""
    start = decode_cursor(cursor)
    if start is not None and set(start) != {"created_at", "id"}:
        raise BadCursor("not a cursor of a gallery")
    return {**start, "owner": {"S": owner}} if start else None


def _gallery_cursor(last: dict | None) -> str | None:
    """A gallery cursor from the owner-created index's last evaluated key (None: the end)."""
    return encode_cursor({"created_at": last["created_at"], "id": last["id"]}) if last else None


class PhotoStore:
    """Reads and writes photo records in DynamoDB, and files their faces in the faces table."""

    def __init__(self) -> None:
        self.unknown_feed = ChangeFeed(UNKNOWN_FEED)  # the default collection's

    def get(self, photo_id: str) -> Photo | None:
        try:
            return _to_photo(PhotoModel.get(photo_id, consistent_read=True))
        except DoesNotExist:
            return None

    def create(self, photo: Photo, retention_days: int | None = None) -> None:
        """A new record, queued; with retention, it carries its backstop expiry (the table's TTL)."""
        item = PhotoModel(
            photo.id,
            status=QUEUED,
            created_at=photo.created_at,
            updated_at=photo.updated_at,
            owner=owner_of(photo.email),
            email=photo.email,
            phone=photo.phone,
            filename=photo.filename,
            content_type=photo.content_type,
            original_key=photo.original_key,
            width=photo.width,
            height=photo.height,
            pending=pending_shard(photo.id),  # until processed and notified: the reconciler's index
            collection=None if photo.collection == DEFAULT_COLLECTION else photo.collection,
            pool=photo_pool(photo.collection, photo.id),
            created_shard=pending_shard(photo.id),  # the retention sweep's index
            expires_at=backstop_expiry(photo.created_at, retention_days),
        )
        item.save(condition=PhotoModel.id.does_not_exist())

    def mark_processing(self, photo_id: str) -> bool:
        """Queued (or failed, on a retry) → processing; False when it is already processed (or being erased)."""
        return self._update(
            photo_id,
            [PhotoModel.status.set(PROCESSING), PhotoModel.updated_at.set(_now()),
             PhotoModel.pending.set(pending_shard(photo_id))],  # a retry after a settled failure too
            (PhotoModel.status != PROCESSED) & (PhotoModel.status != ERASING),
        )

    def mark_processed(self, photo_id: str, result: ProcessedImage, collection: str = DEFAULT_COLLECTION) -> bool:
        """Processed, with what was made of it; False when it is being erased (or gone) meanwhile."""
        return self._update(
            photo_id,
            [
                PhotoModel.status.set(PROCESSED),
                PhotoModel.updated_at.set(_now()),
                PhotoModel.flipped_key.set(result.flipped_key),
                PhotoModel.thumbnail_key.set(result.thumbnail_key),
                PhotoModel.results_key.set(result.results_key),
                PhotoModel.width.set(result.width),
                PhotoModel.height.set(result.height),
                *_sideways_actions(result.sideways),
                PhotoModel.error.remove(),
                *_face_actions(photo_id, result.faces, collection),
            ],
            PhotoModel.status != ERASING,
        )

    def mark_erasing(self, photo_id: str, unchanged_since: datetime | None = None) -> bool:
        """Deleted by its owner or the admin (or expired) → erasing (idempotent); False when there is no
        such record, or (``unchanged_since``) it changed since it was read: another sweeper took it.

        The revision moves, so a face change read before (a re-match in flight) is refused and read
        again; the pending shard is set, so the reconciler sends the erasure again if its job is lost."""
        return self._update(photo_id, [PhotoModel.status.set(ERASING), PhotoModel.updated_at.set(_now()),
                                       PhotoModel.pending.set(pending_shard(photo_id)),
                                       PhotoModel.revision.add(1)],
                            None if unchanged_since is None else PhotoModel.updated_at == unchanged_since)

    def owned_all(self, owner: str) -> Iterator[Photo]:
        """Every photo of an owner, newest first, page by page (the owner-created index)."""
        return (_to_photo(item) for item in PhotoModel.owner_index.query(owner, scan_index_forward=False))

    def all(self) -> Iterator[Photo]:
        """Every record, page by page (the admin export); never all in memory at once."""
        return (_to_photo(item) for item in PhotoModel.scan())

    def newest_of(self, owner: str) -> Photo | None:
        """The owner's newest photo (one item read from the owner-created index)."""
        items = PhotoModel.owner_index.query(owner, scan_index_forward=False, limit=1)
        return next((_to_photo(item) for item in items), None)

    def owned_by(self, owner: str, limit: int) -> list[Photo]:
        """The owner's photos, newest first, at most ``limit`` (the owner-created index)."""
        items = PhotoModel.owner_index.query(owner, scan_index_forward=False, limit=limit, page_size=limit)
        return [_to_photo(item) for item in items]

    def owned_page(self, owner: str, limit: int, cursor: str | None) -> tuple[list[Photo], str | None]:
        """The owner's photos older than the cursor's, newest first, at most ``limit``, and the next page's
        cursor or None (raises BadCursor). The cursor holds a photo's time and id, never the owner: a
        cursor always reads the gallery of whoever pages with it."""
        items = PhotoModel.owner_index.query(owner, scan_index_forward=False, limit=limit, page_size=limit,
                                             last_evaluated_key=_gallery_start(owner, cursor))
        photos = [_to_photo(item) for item in items]
        return photos, _gallery_cursor(items.last_evaluated_key) if len(photos) == limit else None

    def owned_page_naming(self, owner: str, person_id: str, limit: int, cursor: str | None,
                          examined: int) -> tuple[list[Photo], str | None]:
        """``owned_page`` of only the photos naming this person: it reads at most ``examined`` of the
        owner's photos (queries of FILTER_PAGE on the owner-created index, DynamoDB filtering on
        ``person_ids``: no index finds an owner's photos of one person), so reads stay bounded but a page
        can come back short or empty, with the cursor to read on from; None at the end (raises BadCursor)."""
        start, read = _gallery_start(owner, cursor), 0
        found: list[Photo] = []
        naming = PhotoModel.person_ids.contains(person_id)
        while read < examined:
            query = PhotoModel.owner_index.query(owner, scan_index_forward=False, filter_condition=naming,
                                                 page_size=min(FILTER_PAGE, examined - read),
                                                 last_evaluated_key=start)
            page = next(query.page_iter)  # one request: its Limit counts the photos read, not those kept
            matches = [_to_photo(PhotoModel.from_raw_data(raw)) for raw in page.get("Items", [])]
            read, start = read + int(page["ScannedCount"]), query.page_iter.last_evaluated_key
            if len(found) + len(matches) > limit:  # full within this query: on from the last one kept
                found += matches[:limit - len(found)]
                return found, older_than(found[-1].created_at, found[-1].id)
            found += matches
            if start is None or len(found) == limit:
                break
        return found, _gallery_cursor(start)

    def many(self, photo_ids: Iterable[str]) -> dict[str, Photo]:
        """Several records by id in one batch read (consistent: the processor may have just written)."""
        ids = sorted(set(photo_ids))
        if not ids:
            return {}
        return {item.id: _to_photo(item) for item in PhotoModel.batch_get(ids, consistent_read=True)}

    def every_with_unknown_faces(self, collection: str = DEFAULT_COLLECTION, batch: int = 100) -> Iterator[Photo]:
        """A collection's photos that still have unknown faces: the sharded sparse index, shard by shard,
        then batch reads (a processor's first load of its unknown-face index, with no snapshot yet)."""
        older = [OLD_UNKNOWN_MARK] if collection == DEFAULT_COLLECTION else []
        for shard in [*unknown_marks(collection), *older]:
            ids = [item.id for item in PhotoModel.unknown_index.query(shard)]
            for start in range(0, len(ids), batch):
                yield from self.many(ids[start:start + batch]).values()

    def ids_of(self, collection: str) -> Iterator[str]:
        """The ids of a collection's photos (not the default one's), shard by shard of its index."""
        for pool in people_pools(collection):
            yield from (item.id for item in PhotoModel.collection_index.query(pool))

    def delete(self, photo_id: str) -> None:
        """The record (idempotent)."""
        PhotoModel(photo_id).delete()

    def drop_group(self, group: str) -> None:
        """Every entry filed under a group (a person's, a cluster's, a summary), idempotent."""
        with FaceModel.batch_write() as batch:
            for item in FaceModel.query(group):
                batch.delete(item)

    def announce_unknown(self, *photo_ids: str, collection: str = DEFAULT_COLLECTION) -> int:
        """After a change of these photos' unknown faces (of one collection): every processor's index of
        the collection applies it."""
        feed = self.unknown_feed if collection == DEFAULT_COLLECTION else ChangeFeed(unknown_feed(collection))
        return feed.announce(*photo_ids)

    def announce_unknown_of(self, photos: Iterable[Photo]) -> None:
        """``announce_unknown`` for photos of any collections (each collection's feed, one batch each)."""
        by_collection: dict[str, list[str]] = {}
        for photo in photos:
            by_collection.setdefault(photo.collection, []).append(photo.id)
        for collection, ids in by_collection.items():
            self.announce_unknown(*ids, collection=collection)

    # -- the faces table: faces by person and by cluster ------------------------------------------
    def naming(self, person_id: str) -> list[str]:
        """Ids of the photos in which this person is named (one partition of the faces table)."""
        return sorted({item.photo_id for item in FaceModel.query(f"person:{person_id}")})

    def in_cluster(self, cluster: str) -> list[str]:
        """Ids of the photos with a face in this cluster of unknown faces."""
        return sorted({item.photo_id for item in FaceModel.query(f"cluster:{cluster}")})

    def unfile(self, group: str, refs: Iterable[FaceRef]) -> None:
        """Take stale pointers out of a group (their photos say otherwise now)."""
        with FaceModel.batch_write() as batch:
            for ref in refs:
                batch.delete(FaceModel(group, f"{ref.photo_id}#{ref.index}"))

    def file_named(self, person_id: str, faces: dict[str, list[int]]) -> None:
        """File faces under a person before naming them ({photo id: face indexes}): a run that dies
        after naming leaves them findable by the person (checked against the records when read)."""
        now = _now()
        with FaceModel.batch_write() as batch:
            for photo_id, indexes in faces.items():
                for index in indexes:
                    batch.save(FaceModel(f"person:{person_id}", f"{photo_id}#{index}", photo_id=photo_id,
                                         created_at=now))

    def file_faces(self, *changes: tuple[Photo, tuple[Face, ...]]) -> None:
        """For each (photo, its faces before, or () for all): file each face under its group, and take it
        out of the group it had before (idempotent; several photos in one batch write); then the
        summaries of the clusters that changed."""
        now = _now()
        touched: dict[str, str] = {}  # cluster → its collection
        gone: dict[str, set[str]] = {}  # cluster → the faces taken out of it
        with FaceModel.batch_write() as batch:
            for photo, before in changes:
                for index, face in enumerate(photo.faces):
                    old = face_group(before[index]) if index < len(before) else None
                    new = face_group(face)
                    if before and old == new:
                        continue  # filed already
                    if old and old != new:
                        batch.delete(FaceModel(old, f"{photo.id}#{index}"))
                        gone.setdefault(old.removeprefix(CLUSTER), set()).add(f"{photo.id}#{index}")
                    if new:
                        batch.save(FaceModel(new, f"{photo.id}#{index}", photo_id=photo.id, created_at=now,
                                             crop=face.crop))
                    touched |= {g.removeprefix(CLUSTER): photo.collection
                                for g in (old, new) if g and g.startswith(CLUSTER)}
        for collection in set(touched.values()):
            self.summarize([c for c, of in touched.items() if of == collection], collection, gone)

    # -- clusters of unknown faces: each one's summary, the listing largest first -----------------
    def summarize(self, clusters: Iterable[str], collection: str = DEFAULT_COLLECTION,
                  gone: dict[str, set[str]] | None = None) -> None:
        """Count each cluster's faces and photos again from its entries (idempotent) and write its
        summary (listed under its collection), or delete it when the cluster is empty. ``gone``: the
        faces just taken out of each cluster (an emptied one is deleted without reading its entries)."""
        clusters = sorted(set(clusters))
        if not clusters:
            return
        read: dict[str, FaceModel] = {}
        for start in range(0, len(clusters), 100):  # the summaries in batch reads, not one read each
            keys = [(f"{SUMMARY}{c}", "-") for c in clusters[start:start + 100]]
            read |= {item.group.removeprefix(SUMMARY): item for item in FaceModel.batch_get(keys, consistent_read=True)}
        gone = gone or {}
        with ThreadPoolExecutor(min(8, len(clusters))) as pool:  # a request or two each: waiting is most of it
            list(pool.map(lambda c: _count_again(c, collection, read=read.get(c), gone=frozenset(gone.get(c, ()))),
                          clusters))

    def unknown_people(self, limit: int, cursor: str | None = None, collection: str = DEFAULT_COLLECTION,
                       hidden: bool = False) -> tuple[list[ClusterSummary], str | None]:
        """A collection's clusters of unknown faces (``hidden``: its hidden ones instead), most faces
        first, ``limit`` at a time; the cursor of the next page or None (raises BadCursor)."""
        listing = _listing(collection, hidden)
        start = decode_cursor(cursor)
        if start is not None and start.get("listing") != {"S": listing}:
            raise BadCursor("not a cursor of this list")
        items = FaceModel.cluster_index.query(listing, scan_index_forward=False, limit=limit,
                                              page_size=limit, last_evaluated_key=start)
        page = [_to_summary(item) for item in items]
        last = items.last_evaluated_key if len(page) == limit else None
        return page, encode_cursor(last)

    def hidden_count(self, collection: str = DEFAULT_COLLECTION) -> int:
        """How many of a collection's clusters are hidden (one count query of the hidden list)."""
        return FaceModel.cluster_index.count(hidden_listing(collection))

    def set_hidden(self, cluster: str, hidden: bool, attempts: int = 30) -> ClusterSummary | None:
        """Hide a cluster (listed under its collection's hidden list, kept so by every count) or show
        it again; idempotent. Returns its summary, or None when there is none (never brought back: it
        was deleted because its cluster emptied). The write raises ``counted`` and lands only over the
        summary it read, so a count that read the summary before counts again and keeps the flag."""
        key = f"{SUMMARY}{cluster}"
        for attempt in range(attempts):
            try:
                item = FaceModel.get(key, "-", consistent_read=True)
            except DoesNotExist:
                return None
            if (item.hidden is not None) == hidden:
                return _to_summary(item)
            counted = int(item.counted or 0) if item.counted is not None else None
            unchanged = FaceModel.counted.does_not_exist() if counted is None else FaceModel.counted == counted
            actions = [FaceModel.hidden.set(_now()) if hidden else FaceModel.hidden.remove(),
                       FaceModel.listing.set(_listing(_collection_of(item), hidden)),
                       FaceModel.counted.set((counted or 0) + 1)]
            try:
                item.update(actions=actions, condition=FaceModel.group.exists() & unchanged)
                return _to_summary(item)
            except UpdateError as exc:
                if not _conditional_failed(exc):
                    raise
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise RuntimeError(f"cluster {cluster} kept changing under {attempts} attempts")

    def cluster(self, cluster: str) -> ClusterSummary | None:
        try:
            return _to_summary(FaceModel.get(f"{SUMMARY}{cluster}", "-", consistent_read=True))
        except DoesNotExist:
            return None

    def faces_of(self, group: str, limit: int | None = None,
                 cursor: str | None = None) -> tuple[list[FaceRef], str | None]:
        """The faces filed under a group ("person:<id>", "cluster:<id>"), by photo id, a page at a time.
        Entries are pointers: check each against its photo record."""
        items = FaceModel.query(group, limit=limit, page_size=limit, last_evaluated_key=decode_cursor(cursor))
        refs = [FaceRef(item.photo_id or "", int(item.face.rpartition("#")[2]), item.crop) for item in items]
        last = items.last_evaluated_key if limit is not None and len(refs) == limit else None
        return refs, encode_cursor(last)

    def count_of(self, group: str) -> int:
        """How many faces are filed under a group (one count query, no items read back)."""
        return FaceModel.count(group)

    def change_faces(self, photo_id: str, change: Callable[[Photo], tuple[Face, ...] | None],
                     attempts: int = 5, first: Photo | None = None) -> Photo | None:
        """Read, change and write a photo's faces, again if another writer came in between.

        ``change`` returns the new faces, or None to leave the photo as it is. ``first``: the photo as
        just read (a batch read), tried before reading it again. Returns the photo as written (its faces
        and revision; what no face change touches, e.g. deliveries, as read), or None when nothing
        changed.
        """
        for attempt in range(attempts):
            photo = first if attempt == 0 and first is not None else self.get(photo_id)
            if photo is None or photo.status == ERASING:  # being erased: its faces never change again
                return None
            faces = change(photo)
            if faces is None:
                return None
            rev, now = PhotoModel.revision, _now()
            seen = rev.does_not_exist() if photo.revision is None else rev == photo.revision
            revision = (photo.revision or 0) + 1
            actions = [*_face_actions(photo_id, faces, photo.collection),
                       PhotoModel.revision.set(revision), PhotoModel.updated_at.set(now)]
            if self._update_quietly(photo_id, actions, seen):
                return replace(photo, faces=faces, revision=revision, updated_at=now)
        raise RuntimeError(f"photo {photo_id} kept changing under {attempts} attempts")

    def mark_failed(self, photo_id: str, error: str) -> bool:
        """Anything but processed (or being erased) → failed with a readable error."""
        return self._update(
            photo_id,
            [PhotoModel.status.set(FAILED), PhotoModel.updated_at.set(_now()), PhotoModel.error.set(error[:1000])],
            (PhotoModel.status != PROCESSED) & (PhotoModel.status != ERASING),
        )

    def claim_delivery(self, photo_id: str, channel: Channel, to: str) -> datetime | None:
        """Take the right to send on a channel: the claim's time for exactly one caller ever, else None.

        A claim is never taken over: one whose holder died is marked uncertain (``mark_uncertain``).
        """
        attr = _delivery_attr(channel)
        now = _now()
        claim = DeliveryAttribute(to=to, status="sending", claimed_at=now)
        return now if self._update(photo_id, [attr.set(claim)], attr.does_not_exist()) else None

    def mark_uncertain(self, photo_id: str, channel: Channel, lease: timedelta) -> bool:
        """A 'sending' claim older than the lease (its worker died, maybe after sending) → uncertain.

        One conditional write: True for the one caller that made the change.
        """
        attr = _delivery_attr(channel)
        expired = (attr.status == "sending") & (attr.claimed_at < _now() - lease)
        actions = [attr.status.set("uncertain"), attr.error.set(UNCERTAIN_ERROR), PhotoModel.uncertain.set("yes")]
        return self._update(photo_id, actions, expired)

    # -- deferred: an SMS waiting for the deployment's SMS ceiling (notifier) ---------------------
    # Each step is one conditional write on the delivery's status and ``claimed_at`` (the first claim's
    # time, kept while it waits), so of two workers holding copies of one message one acts, once.
    def defer_delivery(self, photo_id: str, channel: Channel, claimed_at: datetime, until: datetime,
                       reason: str) -> bool:
        """Our own claim ('sending', ``claimed_at``), or a delivery deferred already → deferred until
        ``until``. False when it is neither any more (marked uncertain, resumed, given up)."""
        attr = _delivery_attr(channel)
        mine = attr.status.is_in("sending", "deferred") & (attr.claimed_at == claimed_at)
        return self._update(photo_id, [attr.status.set("deferred"), attr.until.set(until), attr.error.set(reason)],
                            mine)

    def resume_delivery(self, photo_id: str, channel: Channel, claimed_at: datetime) -> datetime | None:
        """A deferred delivery claimed again to send it now ('sending', a new claim time and lease):
        that time for exactly one caller, else None."""
        attr = _delivery_attr(channel)
        now = _now()
        waiting = (attr.status == "deferred") & (attr.claimed_at == claimed_at)
        actions = [attr.status.set("sending"), attr.claimed_at.set(now), attr.until.remove(), attr.error.remove()]
        return now if self._update(photo_id, actions, waiting) else None

    def refuse_deferred(self, photo_id: str, channel: Channel, claimed_at: datetime, reason: str) -> bool:
        """Our own claim, or a deferred delivery, that may not wait (longer) → refused, final; True for
        the one caller that did it."""
        attr = _delivery_attr(channel)
        waiting = attr.status.is_in("sending", "deferred") & (attr.claimed_at == claimed_at)
        return self._update(photo_id, [attr.status.set("refused"), attr.until.remove(), attr.error.set(reason)],
                            waiting)

    # -- batched: one message for a recipient's photos of a few minutes (notifier/batching.py) ---------
    def batch_delivery(self, photo_id: str, channel: Channel, to: str, batch: str, previous: str | None,
                       note: str | None = None) -> bool:
        """The delivery goes in ``batch``: from none (``previous`` None), or from ``previous``, a batch
        that closed without it. One conditional write: False when the record says otherwise by now."""
        attr = _delivery_attr(channel)
        ours = attr.does_not_exist() if previous is None else (attr.status == "batched") & (attr.batch == previous)
        claim = DeliveryAttribute(to=to, status="batched", claimed_at=_now(), batch=batch, note=note)
        return self._update(photo_id, [attr.set(claim)], ours)

    def record_batched(self, photo_id: str, channel: Channel, batch: str, status: str, error: str | None,
                       note: str | None, sent_at: datetime | None = None) -> bool:
        """What became of a batched delivery's batch (or, still ``batched``, why it waits): only while the
        delivery is in that batch (so a final state is written once and never undone)."""
        attr = _delivery_attr(channel)
        actions = [attr.status.set(status), attr.error.set(error) if error else attr.error.remove(),
                   attr.note.set(note) if note else attr.note.remove()]
        if sent_at is not None:
            actions.append(attr.sent_at.set(sent_at))
        if status == "uncertain":
            actions.append(PhotoModel.uncertain.set("yes"))
        return self._update(photo_id, actions, (attr.status == "batched") & (attr.batch == batch))

    def with_uncertain_deliveries(self) -> list[Photo]:
        """The photos with an uncertain notification (a sparse index, then one batch read)."""
        ids = [item.id for item in PhotoModel.uncertain_index.query("yes")]
        return sorted(self.many(ids).values(), key=lambda p: p.updated_at, reverse=True)

    # -- the retention sweep's view: photos created before a cutoff ----------------------------
    def created_before(self, shard: str, before: datetime) -> list[str]:
        """Ids of one shard's photos created before ``before`` (a keys-only query, no scan)."""
        return [item.id for item in PhotoModel.created_index.query(shard, PhotoModel.created_at < before)]

    def shard_undated(self) -> int:
        """Once per deployment: records from before the created index get their shard (one scan, keys
        only; a run killed part way is taken up by the next). Returns how many were sharded."""
        try:
            if SettingModel.get(CREATED_SHARDED, consistent_read=True).value:
                return 0
        except DoesNotExist:
            pass
        sharded = 0
        for item in PhotoModel.scan(PhotoModel.created_shard.does_not_exist(), attributes_to_get=["id"]):
            sharded += self._update(item.id, [PhotoModel.created_shard.set(pending_shard(item.id))])
        SettingModel(CREATED_SHARDED, value=True).save()
        return sharded

    # -- the reconciler's view: photos that never got through ----------------------------------
    def stale(self, shard: str, before: datetime) -> list[str]:
        """Ids of the pending photos of one shard last changed before ``before`` (a query, no scan)."""
        return [item.id for item in PhotoModel.pending_index.query(shard, PhotoModel.updated_at < before)]

    def nudge(self, photo: Photo) -> bool:
        """Record that its message is sent again; True for one caller (updated_at unchanged since read)."""
        return self._update(
            photo.id,
            [PhotoModel.updated_at.set(_now()), PhotoModel.nudges.set(photo.nudges + 1)],
            (PhotoModel.updated_at == photo.updated_at) & PhotoModel.pending.exists(),
        )

    def settled(self, photo_id: str) -> None:
        """Processed (or failed) and every channel settled: off the pending index."""
        self._update(photo_id, [PhotoModel.pending.remove()], PhotoModel.status.is_in(PROCESSED, FAILED))

    def finish_delivery(self, photo_id: str, channel: Channel, to: str, error: str | None,
                        refused: bool = False) -> None:
        """Sent (no error), failed (the provider's error) or refused (a limit: never tried)."""
        attr = _delivery_attr(channel)
        now = _now()
        status = "refused" if refused else "failed" if error else "sent"
        done = DeliveryAttribute(to=to, status=status, claimed_at=now, sent_at=None if error else now, error=error)
        self._update(photo_id, [attr.set(done)])

    def _update(self, photo_id: str, actions: list, condition: object | None = None) -> bool:
        return self._update_item(PhotoModel(photo_id), actions, condition)

    def _update_quietly(self, photo_id: str, actions: list, condition: object) -> bool:
        """An update that returns nothing (the caller knows what it wrote: a re-match writes a hundred
        photos, and each one sent back in full is time on both sides)."""
        try:
            PhotoModel._get_connection().update_item(photo_id, actions=actions,
                                                      condition=PhotoModel.id.exists() & condition)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _update_item(self, item: PhotoModel, actions: list, condition: object | None = None) -> bool:
        exists = PhotoModel.id.exists()
        guard = exists if condition is None else exists & condition
        try:
            item.update(actions=actions, condition=guard)
        except (UpdateError, PutError) as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True


__all__ = ["BadCursor", "ClusterSummary", "FaceRef", "PhotoStore", "older_than"]
