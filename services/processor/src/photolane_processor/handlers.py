"""What the processor does with each job: photos, enrollment photos, deleted people, erasures."""

from __future__ import annotations

import logging
import mimetypes
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath

import numpy as np
from pynamodb.exceptions import PutError

from photolane_common.aws import BlobStore, MessageQueue, MissingObject, MissingQueue
from photolane_common.collection import CollectionStore
from photolane_common.domain import (
    ENROLLED,
    ENROLLING,
    ERASING,
    PROCESSED,
    QUEUED,
    Face,
    Person,
    Photo,
    ProcessedImage,
)
from photolane_common.logs import photo_context
from photolane_common.messages import (
    ClusterNamed,
    CollectionDeleted,
    Envelope,
    FaceNamed,
    FaceUnnamed,
    InvalidMessage,
    OwnerPhotosDeleted,
    PeopleMerged,
    PersonDeleted,
    PersonPhotoAdded,
    PhotoDeleted,
    PhotoProcessed,
    PhotoUploaded,
    RetentionSweepDue,
    S3Object,
    S3ObjectsCreated,
    StatsAnswered,
    StatsRequested,
)
from photolane_common.metrics import (
    FACES_FOUND,
    FACES_NAMED,
    PHOTOS_FAILED,
    PHOTOS_PROCESSED,
    STAGE_MS,
    metrics,
)
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_common.resources import INCOMING_PREFIX

from . import erasure, naming, retention
from .imaging import UnreadableImage, open_oriented
from .known import Indexes
from .matching import from_bytes, to_bytes
from .numbers import BadNumbers, summarize
from .pipeline import Detector, Encoder, Recognition, render, results_csv
from .policy import Candidate, Verdict, template
from .settings import ProcessorSettings

log = logging.getLogger("photolane.processor")
RENAME_BATCH = 25  # photos read and decided at once while the batch before is written


@dataclass
class ProcessorDeps:
    settings: ProcessorSettings
    photos: PhotoStore
    people: PeopleStore
    indexes: Indexes  # the people and unknown faces of each collection in use
    collections: CollectionStore
    blobs: BlobStore
    notifications: MessageQueue
    detector: Detector
    encoder: Encoder
    replies: Callable[[str], MessageQueue]  # a reply queue, by name
    jobs: MessageQueue | None = None  # its own queue: the reconciler sends a lost job again


def handle(envelope: Envelope, deps: ProcessorDeps) -> None:
    job = envelope.payload()
    if isinstance(job, PhotoUploaded):
        process_photo(job, deps)
    elif isinstance(job, PersonPhotoAdded):
        enroll(job, deps)
    elif isinstance(job, PersonDeleted):
        forget(job, deps)
    elif isinstance(job, FaceNamed | ClusterNamed | FaceUnnamed | PeopleMerged):
        naming.handle(job, deps)
    elif isinstance(job, CollectionDeleted):
        erasure.erase_collection(job, deps)
    elif isinstance(job, PhotoDeleted):
        erasure.erase_photo(job, deps)
    elif isinstance(job, OwnerPhotosDeleted):
        erasure.erase_owner(job, deps)
    elif isinstance(job, RetentionSweepDue):
        retention.sweep(deps)
    elif isinstance(job, StatsRequested):
        answer_stats(job, deps)
    elif isinstance(job, S3ObjectsCreated):
        for dropped in job.objects:
            ingest(dropped, deps)
    else:
        raise InvalidMessage(f"the processor does not handle {envelope.type}")


# -- photos ----------------------------------------------------------------------------------------
def process_photo(job: PhotoUploaded, deps: ProcessorDeps) -> None:
    """Idempotent: a job seen twice leaves the same record and objects, and notifies again."""
    photo = deps.photos.get(job.photo_id)
    if photo is None:
        log.warning("photo.missing")
        return
    if photo.status == ERASING:
        log.info("photo.erasing")  # deleted before it was processed: the erasure's now
        return
    if photo.status == PROCESSED or not deps.photos.mark_processing(photo.id):
        current = deps.photos.get(photo.id)
        if current is None or current.status == ERASING:  # deleted meanwhile: the erasure's now
            log.info("photo.erasing")
            return
        log.info("photo.already_processed")
        _index(current, deps)  # the first delivery may have died before it
        _notify(deps, photo.id, "processed")
        return
    started = time.perf_counter()
    known = deps.indexes.known(photo.collection)
    known.refresh()
    generation = known.generation
    recognition = Recognition(deps.detector, deps.encoder, known.index, deps.settings.naming)
    try:
        outputs = render(deps.blobs.get(job.original_key), recognition, deps.settings.thumbnail_px,
                         deps.settings.jpeg_quality, deps.settings.work_px)
    except (UnreadableImage, MissingObject) as exc:
        error = str(exc) if isinstance(exc, UnreadableImage) else "the original is missing from the bucket"
        deps.photos.mark_failed(photo.id, error)
        log.warning("photo.failed", extra={"error": error})
        metrics.count(PHOTOS_FAILED)
        _notify(deps, photo.id, "failed")
        return
    faces = _clustered(photo, _with_pictures(photo.id, outputs.faces, outputs.pictures, deps), deps)
    result = ProcessedImage(
        flipped_key=f"flipped/{photo.id}.{outputs.flipped.extension}",
        thumbnail_key=f"thumbs/{photo.id}.jpg",
        results_key=f"results/{photo.id}.csv",
        width=outputs.width,
        height=outputs.height,
        faces=faces,
        sideways=outputs.sideways,
    )
    deps.blobs.put(result.flipped_key, outputs.flipped.data, outputs.flipped.content_type)
    deps.blobs.put(result.thumbnail_key, outputs.thumbnail.data, outputs.thumbnail.content_type)
    deps.blobs.put(result.results_key, _results(faces, photo.collection, deps), "text/csv")
    if not deps.photos.mark_processed(photo.id, result, photo.collection):
        erasure.discard(photo.id, deps)  # deleted while processed: nothing made of it stays
        return
    named = sum(1 for face in faces if face.person_id)
    log.info("photo.processed", extra={"faces": len(faces), "named": named, "width": outputs.width,
                                       "height": outputs.height, "ms": outputs.timings_ms,
                                       "sideways_turn": outputs.sideways.turn if outputs.sideways else None})
    metrics.count(PHOTOS_PROCESSED)
    for stage, ms in {**outputs.timings_ms, "total": (time.perf_counter() - started) * 1000}.items():
        metrics.timing(STAGE_MS, ms, stage=stage)
    metrics.count(FACES_FOUND, len(faces))
    metrics.count(FACES_NAMED, named, phase="processing")
    _index(replace(photo, faces=faces), deps)
    if erasure.erased_meanwhile(replace(photo, faces=faces, flipped_key=result.flipped_key,
                                        thumbnail_key=result.thumbnail_key, results_key=result.results_key), deps):
        return  # deleted between its result and its faces' filing: erased again with the faces in hand
    _catch_up(photo, generation, deps)
    _notify(deps, photo.id, "processed")


def _with_pictures(photo_id: str, faces: tuple[Face, ...], pictures: tuple[bytes, ...],
                   deps: ProcessorDeps) -> tuple[Face, ...]:
    """Each face's picture in the bucket (faces/<photo>/<index>.jpg), its key on the face."""
    keys = [f"faces/{photo_id}/{i}.jpg" for i in range(len(pictures))]
    if keys:
        with ThreadPoolExecutor(min(8, len(keys))) as pool:  # small PUTs: waiting on them is most of it
            list(pool.map(lambda kp: deps.blobs.put(kp[0], kp[1], "image/jpeg"), zip(keys, pictures, strict=True)))
    return tuple(replace(face, crop=key) for face, key in zip(faces, keys, strict=True)) if keys else faces


def ingest(dropped: S3Object, deps: ProcessorDeps) -> None:
    """An image put straight under incoming/: a record of its own, then the same path as an upload.

    Its id comes from the object (bucket, key, ETag), so the same object notified twice is one photo,
    processed once.
    """
    if dropped.bucket != deps.settings.bucket or not dropped.key.startswith(INCOMING_PREFIX):
        log.info("s3.ignored", extra={"bucket": dropped.bucket, "key": dropped.key})
        return
    photo_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{dropped.bucket}/{dropped.key}#{dropped.etag}"))
    with photo_context(photo_id):
        if deps.photos.get(photo_id) is None:
            now = datetime.now(UTC)
            content_type = mimetypes.guess_type(dropped.key)[0] or "application/octet-stream"
            photo = Photo(id=photo_id, status=QUEUED, created_at=now, updated_at=now, content_type=content_type,
                          original_key=dropped.key, filename=PurePosixPath(dropped.key).name[:200])
            try:
                deps.photos.create(photo, retention_days=deps.settings.retention_days)
            except PutError as exc:  # created by a concurrent delivery of the same event
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise
            log.info("photo.dropped_in", extra={"key": dropped.key, "bytes": dropped.size})
        process_photo(PhotoUploaded(photo_id=photo_id, original_key=dropped.key), deps)


def _clustered(photo: Photo, faces: tuple[Face, ...], deps: ProcessorDeps,
               only: set[int] | None = None, refresh: bool = True) -> tuple[Face, ...]:
    """Each unknown face without a cluster (of ``only``, if given) joins the nearest unknown face's of
    the photo's collection, or starts its own."""
    photo_id = photo.id
    todo = [i for i, f in enumerate(faces)
            if f.person_id is None and f.encoding and not f.cluster and (only is None or i in only)]
    if not todo:
        return faces
    unknown = deps.indexes.unknown(photo.collection)
    if refresh:
        unknown.refresh()
    vectors = unknown.vectors
    queries = [from_bytes(faces[i].encoding or b"") for i in todo]
    hits = vectors.nearest(queries, deps.settings.cluster_radius) if len(vectors) else [None] * len(todo)
    changed = list(faces)
    for i, hit in zip(todo, hits, strict=True):
        near = hit is not None and hit.tag and hit.owner != photo_id
        # A new cluster's id comes from its first face: the same photo processed again makes the same.
        cluster = hit.tag if near and hit else str(uuid.uuid5(uuid.NAMESPACE_URL, f"photolane:face:{photo_id}#{i}"))
        changed[i] = replace(faces[i], cluster=cluster)
    return tuple(changed)


def _index(photo: Photo, deps: ProcessorDeps) -> None:
    """File the photo's faces (faces table) and tell every processor's unknown-face index (idempotent)."""
    deps.photos.file_faces((photo, ()))
    if any(f.person_id is None and f.encoding for f in photo.faces):
        deps.photos.announce_unknown(photo.id, collection=photo.collection)


def _results(faces: tuple[Face, ...], collection: str, deps: ProcessorDeps) -> bytes:
    return results_csv(faces, deps.people.many(f.person_id for f in faces if f.person_id), collection)


def _catch_up(photo: Photo, generation: int, deps: ProcessorDeps) -> None:
    """People enrolled while this photo was in hand missed it in their re-match: name them now."""
    known = deps.indexes.known(photo.collection)
    known.refresh()
    if known.generation != generation:
        _rename([photo.id], photo.collection, deps)


def give_up(envelope: Envelope, error: BaseException, deps: ProcessorDeps) -> None:
    """The last try failed: the record says so now; the message goes to the dead-letter queue."""
    job = envelope.payload()
    reason = f"processing failed after {deps.settings.max_receives} tries: {error}"
    if isinstance(job, PhotoUploaded) and deps.photos.mark_failed(job.photo_id, reason):
        metrics.count(PHOTOS_FAILED)
        _notify(deps, job.photo_id, "failed")
    elif isinstance(job, PersonPhotoAdded | FaceNamed | ClusterNamed):
        deps.people.photo_failed(job.person_id, job.photo_key, reason)


def _notify(deps: ProcessorDeps, photo_id: str, status: str) -> None:
    deps.notifications.send(PhotoProcessed(photo_id=photo_id, status=status))


# -- numbers ---------------------------------------------------------------------------------------
def answer_stats(job: StatsRequested, deps: ProcessorDeps) -> None:
    """Min, max, mean, median on the reply queue; bad numbers get an error answer, not a retry."""
    try:
        summary = summarize(job.numbers)
        answer = StatsAnswered(request_id=job.request_id, count=summary.count, min=summary.min,
                               max=summary.max, mean=summary.mean, median=summary.median)
    except BadNumbers as exc:
        answer = StatsAnswered(request_id=job.request_id, error=str(exc))
    try:
        deps.replies(job.reply_queue).send(answer)
    except MissingQueue:
        # The client gave up and deleted its queue: nobody is left to answer.
        log.warning("stats.reply_queue_gone", extra={"request_id": job.request_id, "queue": job.reply_queue})
        return
    log.info("stats.answered", extra={"request_id": job.request_id, "count": answer.count,
                                      "error": answer.error})


# -- people ----------------------------------------------------------------------------------------
def enroll(job: PersonPhotoAdded, deps: ProcessorDeps) -> None:
    """The face encoding of one enrollment photo (exactly one face), then re-match the past."""
    person = deps.people.get(job.person_id)
    photo = next((p for p in person.photos if p.key == job.photo_key), None) if person else None
    if person is None or photo is None:
        log.info("person.gone", extra={"person_id": job.person_id})
        return
    if photo.status == ENROLLING:
        error = _encode_enrollment(job, person.collection, deps)
        if error is not None:
            deps.people.photo_failed(person.id, job.photo_key, error)
            log.warning("person.photo_failed", extra={"person_id": person.id, "error": error})
            return
    elif photo.status == ENROLLED:  # a redelivery: the first run may have died before announcing
        deps.people.announce(person.id, person.collection)
        _heal(person.id, deps)
    else:
        return
    # Also on a redelivery of an enrolled photo: the re-match may not have finished the first time.
    rematch(person.id, deps)


def _encode_enrollment(job: PersonPhotoAdded, collection: str, deps: ProcessorDeps) -> str | None:
    try:
        image, _ = open_oriented(deps.blobs.get(job.photo_key))
    except UnreadableImage as exc:
        return str(exc)
    except MissingObject:
        return "the enrollment photo is missing from the bucket"
    boxes = deps.detector.detect(image)
    if not boxes:
        return "no face found in the photo; send one where the face is clear and upright"
    if len(boxes) > 1:
        return f"{len(boxes)} faces found in the photo; send a photo of this person alone"
    encoding = deps.encoder.encode(image, boxes)[0]
    deps.people.photo_enrolled(job.person_id, job.photo_key, to_bytes(encoding))
    deps.people.announce(job.person_id, collection)
    log.info("person.photo_enrolled", extra={"person_id": job.person_id})
    return None


def rematch(person_id: str, deps: ProcessorDeps, named: Callable[[int], None] | None = None) -> int:
    """Decide again, by the naming policy, the stored unknown faces near this person's template (no
    detection again): those it names are named, those it is unsure of get a suggestion, the rest stay
    as they are. Returns how many photos changed.

    The unknown-face index gives the photos to look at: only those within the suggestion distance of
    the template are read and written. The photos with a face within the naming distance go first
    (``named`` is told how many changed once their records are written): what a user waits for is the
    names; their CSVs, the clusters they left and the feed follow, then the photos that can only get a
    question ("Is this …?"), all in the same job, so a redelivery (through ``_heal``) redoes them.
    """
    person = deps.people.get(person_id)
    if person is None or not person.encodings:
        return 0
    known, unknown = deps.indexes.known(person.collection), deps.indexes.unknown(person.collection)
    known.refresh()
    unknown.refresh()
    policy = deps.settings.naming
    samples = len(person.encodings)
    # The other way round, one template searched against every unknown face: looked at (and so asked
    # about) only within the asking distance for that many faces, and named only within the tolerance
    # for them, so that one enrollment names or asks about a stranger as rarely as one photo does (a
    # collection of few people and 100,000 unknown faces: a handful of questions, not thousands).
    radius = min(policy.search_radius(len(known.vectors)), policy.suggest_tolerance(len(unknown.vectors), samples))
    hits = unknown.vectors.within(template([from_bytes(e) for e in person.encodings])[None, :], radius)
    spread = (person.id, policy.tolerance(len(unknown.vectors), samples))
    near = sorted({hit.owner for hit in hits if hit.distance <= spread[1]})
    asked = sorted({hit.owner for hit in hits} - set(near))
    after: list[tuple[Photo, tuple[Face, ...]]] = []
    changed = _rename(near, person.collection, deps, spread=spread, after=after)
    if named is not None:
        named(changed)
    _written(after, deps)  # killed before it: the redelivery's _heal files, announces and writes CSVs again
    changed += _rename(asked, person.collection, deps, spread=spread)
    log.info("person.rematched", extra={"person_id": person_id, "photos": changed, "looked_at": len(near) + len(asked),
                                        "named_first": len(near)})
    return changed


def _heal(person_id: str, deps: ProcessorDeps) -> None:
    """The photos filed under the person (before they were named): filed, announced and their CSVs
    written again, so a run that died between naming them and the rest leaves nothing behind."""
    ids = deps.photos.naming(person_id)
    photos = [photo for start in range(0, len(ids), 100) for photo in deps.photos.many(ids[start:start + 100]).values()]
    if photos:
        _write_csvs(photos, deps)
        deps.photos.file_faces(*((photo, ()) for photo in photos))
        deps.photos.announce_unknown_of(photos)


def forget(job: PersonDeleted, deps: ProcessorDeps) -> None:
    """Un-name a deleted person's faces (matched again against the people that remain), then erase what
    is left of them: pictures, pointers, record, the people index's snapshots (erasure.erase_person)."""
    deps.people.announce(job.person_id, job.collection)  # again: the upload service may have died before it
    deps.indexes.known(job.collection).refresh()
    renamed = _rename(deps.photos.naming(job.person_id), job.collection, deps, forgetting=job.person_id)
    log.info("person.forgotten", extra={"person_id": job.person_id, "photos": renamed})
    erasure.erase_person(job.person_id, job.collection, deps)


def recheck(person_id: str, collection: str, deps: ProcessorDeps) -> int:
    """After a person's samples changed: the faces the policy named them decided again (those named or
    confirmed by somebody stay), and the unknown faces of those photos. Returns photos changed."""
    deps.indexes.known(collection).refresh()
    renamed = _rename(deps.photos.naming(person_id), collection, deps, forgetting=person_id, matched_only=True)
    log.info("person.rechecked", extra={"person_id": person_id, "photos": renamed})
    return renamed


def _rename(photo_ids: list[str], collection: str, deps: ProcessorDeps, forgetting: str | None = None,
            heal: bool = False, matched_only: bool = False, spread: tuple[str, float] | None = None,
            after: list[tuple[Photo, tuple[Face, ...]]] | None = None) -> int:
    """Decide again the photos' unknown faces (and those named ``forgetting``: only those the policy
    named, if ``matched_only``) by the naming policy over the collection's people (a photo of another
    collection is left as it is); rewrite what changed: each record
    (a conditional write), its CSV, its faces' groups and the unknown-face feed (batched across the
    photos). Returns how many photos changed.

    ``heal``: the photos came from an index that was wrong about them (a run that died after naming
    them, before announcing): those found unchanged are filed and announced again, so every index
    reads them afresh. ``spread``: (a person, a distance): only faces within that distance of them are
    named, them; any other name is asked about instead (an enrollment's re-match names nobody else).
    ``after``: only the records are written; the photos changed (with their faces before) are added to
    it, for the caller to pass to ``_written`` (their CSVs, groups and feed) when it chooses."""
    policy = deps.settings.naming
    index = deps.indexes.known(collection).index

    def checked(verdict: Verdict) -> Verdict:
        if spread is None or verdict.person_id is None or (
                verdict.person_id == spread[0] and (verdict.distance or 0) <= spread[1]):
            return verdict
        return Verdict(suggestion=Candidate(verdict.person_id, verdict.distance or 0.0))

    def renamed(photo: Photo) -> tuple[Face, ...] | None:
        if photo.collection != collection:
            return None
        faces = list(photo.faces)
        by_hand = lambda f: matched_only and f.named_by not in (None, "match")  # noqa: E731
        todo = [i for i, f in enumerate(faces) if f.encoding is not None and (
            f.person_id is None or f.person_id == forgetting and not by_hand(f))]
        if not todo:
            return None
        verdicts = index.decide(np.stack([from_bytes(faces[i].encoding or b"") for i in todo]), policy,
                                [set(faces[i].rejected) for i in todo])
        unnamed = set()
        for i, verdict in zip(todo, verdicts, strict=True):
            faces[i] = decided(faces[i], checked(verdict))
            unnamed |= {i} if photo.faces[i].person_id is not None and faces[i].person_id is None else set()
        if faces == list(photo.faces):
            return None
        return _clustered(photo, tuple(faces), deps, only=unnamed, refresh=False)

    def rewrite(photo: Photo, planned: tuple[Face, ...],
                people: dict[str, Person]) -> tuple[Photo, tuple[Face, ...]] | None:
        with photo_context(photo.id):
            written = deps.photos.change_faces(photo.id, lambda p: planned if p is photo else renamed(p), first=photo)
            if after is None and written is not None and _named(written.faces) != _named(photo.faces):
                _write_csv(written, people, deps)
        return (written, photo.faces) if written is not None else None

    if not photo_ids:
        return 0
    deps.indexes.unknown(collection).refresh()  # once: un-named faces join the clusters of the faces known now
    changed: list[tuple[Photo, tuple[Face, ...]]] = []
    unchanged: list[Photo] = []
    writes: list[tuple[Photo, Future[tuple[Photo, tuple[Face, ...]] | None]]] = []
    # A batch's writes (a conditional write and a CSV a photo) go on while the next batch is read and
    # decided: waiting on requests in turn, or on reads then writes, is most of a re-match's time.
    with ThreadPoolExecutor(4) as pool:
        for start in range(0, len(photo_ids), RENAME_BATCH):
            batch = list(deps.photos.many(photo_ids[start:start + RENAME_BATCH]).values())
            plans = [renamed(photo) for photo in batch]
            _file_first(batch, plans, deps)
            people = deps.people.many(f.person_id for plan in plans for f in plan or () if f.person_id)
            writes += [(photo, pool.submit(rewrite, photo, plan, people))
                       for photo, plan in zip(batch, plans, strict=True) if plan is not None]
            unchanged += [photo for photo, plan in zip(batch, plans, strict=True) if plan is None]
        for photo, write in writes:
            done = write.result()
            changed += [done] if done is not None else []
            unchanged += [photo] if done is None else []
    if after is None:
        _written(changed, deps, csv=False)
    else:
        after += changed
    if heal and unchanged:
        deps.photos.file_faces(*((photo, ()) for photo in unchanged))
        deps.photos.announce_unknown_of(unchanged)
    return len(changed)


def _file_first(photos: list[Photo], plans: list[tuple[Face, ...] | None], deps: ProcessorDeps) -> None:
    """The faces about to be named, filed under their person before the writes: a run killed after a
    write and before its announcement leaves them findable (``_heal``), as the enrollment's redelivery
    needs."""
    named: dict[str, dict[str, list[int]]] = {}
    for photo, plan in zip(photos, plans, strict=True):
        for i, (face, was) in enumerate(zip(plan or (), photo.faces, strict=False)):
            if face.person_id and face.person_id != was.person_id:
                named.setdefault(face.person_id, {}).setdefault(photo.id, []).append(i)
    for person_id, faces in named.items():
        deps.photos.file_named(person_id, faces)


def decided(face: Face, verdict: Verdict) -> Face:
    """The face as the policy decided: named (by the match), or unknown with a suggestion or none; an
    unknown face keeps its cluster, a face un-named gets one again (``_clustered``)."""
    if verdict.person_id is not None:
        return replace(face, person_id=verdict.person_id, distance=verdict.distance, cluster=None,
                       suggestion=None, suggestion_distance=None, named_by="match")
    suggested = verdict.suggestion
    return replace(face, person_id=None, distance=None, named_by=None,
                   cluster=face.cluster if face.person_id is None else None,
                   suggestion=suggested.person_id if suggested else None,
                   suggestion_distance=suggested.distance if suggested else None)


def _named(faces: tuple[Face, ...]) -> list[tuple[str | None, float | None]]:
    """What a results CSV says of each face: who, and at what distance."""
    return [(f.person_id, f.distance) for f in faces]


def _write_csvs(photos: list[Photo], deps: ProcessorDeps) -> None:
    """The photos' results CSVs again, the names of their people read once."""
    people = deps.people.many(f.person_id for photo in photos for f in photo.faces if f.person_id)
    with ThreadPoolExecutor(4) as pool:  # each CSV is one PUT: waiting on them in turn is most of the time
        list(pool.map(lambda p: _write_csv(p, people, deps), photos))


def _write_csv(photo: Photo, people: dict[str, Person], deps: ProcessorDeps) -> None:
    """The photo's results CSV again, with the names of the people in it (those not given read here)."""
    if not photo.results_key:
        return
    missing = {f.person_id for f in photo.faces if f.person_id and f.person_id not in people}
    named = {**people, **deps.people.many(missing)} if missing else people
    deps.blobs.put(photo.results_key, results_csv(photo.faces, named, photo.collection), "text/csv")


def _written(changed: list[tuple[Photo, tuple[Face, ...]]], deps: ProcessorDeps, csv: bool = True) -> None:
    """After faces were (un)named: each CSV again (unless done), the faces' groups, the unknown-face
    feed (batched)."""
    if not changed:
        return
    if csv:  # a question is not in a CSV: only the photos whose names changed
        _write_csvs([photo for photo, before in changed if _named(photo.faces) != _named(before)], deps)
    deps.photos.file_faces(*changed)
    deps.photos.announce_unknown_of(photo for photo, _ in changed)
    newly = sum(1 for photo, before in changed for after, was in zip(photo.faces, before, strict=False)
                if after.person_id and not was.person_id)
    if newly > 0:  # by an enrollment's re-match, a naming, a merge (un-naming is not counted)
        metrics.count(FACES_NAMED, newly, phase="later")
    for photo, _ in changed:
        with photo_context(photo.id):
            log.info("photo.renamed", extra={"named": sum(1 for f in photo.faces if f.person_id)})
