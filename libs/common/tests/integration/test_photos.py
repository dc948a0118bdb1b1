"""The photo store against a real DynamoDB stand-in."""

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from photolane.testing import Stack
from photolane_common.domain import FAILED, PROCESSED, PROCESSING, QUEUED, Face, Photo, ProcessedImage
from photolane_common.models import FaceModel
from photolane_common.photos import CLUSTER, SUMMARY, BadCursor, PhotoStore, _count_again


def _new_photo(store: PhotoStore, **fields: object) -> Photo:
    now = datetime.now(UTC)
    photo = Photo(id=str(uuid.uuid4()), status=QUEUED, created_at=now, updated_at=now, content_type="image/jpeg",
                  original_key="originals/x.jpg", **fields)
    store.create(photo)
    return photo


def test_status_goes_queued_processing_processed_and_never_back(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store, email="a@example.com")
    assert store.get(photo.id).status == QUEUED
    assert store.mark_processing(photo.id)
    assert store.get(photo.id).status == PROCESSING
    result = ProcessedImage("flipped/x.jpg", "thumbs/x.jpg", "results/x.csv", 10, 20,
                            (Face((1, 2, 3, 0)), Face((4, 9, 8, 5))))
    store.mark_processed(photo.id, result)
    done = store.get(photo.id)
    assert (done.status, done.width, done.height, done.flipped_key) == (PROCESSED, 10, 20, "flipped/x.jpg")
    assert [f.box for f in done.faces] == [(1, 2, 3, 0), (4, 9, 8, 5)]
    assert not store.mark_processing(photo.id)
    assert not store.mark_failed(photo.id, "late failure")
    assert store.get(photo.id).status == PROCESSED


def test_failed_keeps_the_error(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store)
    assert store.mark_failed(photo.id, "the image cannot be decoded")
    failed = store.get(photo.id)
    assert (failed.status, failed.error) == (FAILED, "the image cannot be decoded")


def test_unknown_photo_is_none_and_updates_do_not_create_it(stack: Stack) -> None:
    store = PhotoStore()
    assert store.get("nope") is None
    assert not store.mark_processing("nope")
    assert store.get("nope") is None


def test_a_delivery_is_claimed_once_ever_and_a_dead_holders_claim_becomes_uncertain(stack: Stack) -> None:
    store = PhotoStore()
    photo = _new_photo(store, phone="+14155550123", email="a@example.com")
    assert store.claim_delivery(photo.id, "sms", "+14155550123")
    assert not store.claim_delivery(photo.id, "sms", "+14155550123")
    assert store.claim_delivery(photo.id, "email", "a@example.com")  # channels are apart
    # Within its lease a claim is left alone; after it, one caller marks it uncertain, and it is never claimed again.
    assert not store.mark_uncertain(photo.id, "sms", timedelta(minutes=2))
    assert store.mark_uncertain(photo.id, "sms", timedelta(seconds=-1))
    assert not store.mark_uncertain(photo.id, "sms", timedelta(seconds=-1))
    assert not store.claim_delivery(photo.id, "sms", "+14155550123")
    sms = store.get(photo.id).delivery("sms")
    assert (sms.status, sms.to, sms.sent_at) == ("uncertain", "+14155550123", None)
    assert "may or may not have gone out" in sms.error
    assert [p.id for p in store.with_uncertain_deliveries()] == [photo.id]
    store.finish_delivery(photo.id, "email", "a@example.com", None)
    assert not store.mark_uncertain(photo.id, "email", timedelta(seconds=-1))  # sent is final
    email = store.get(photo.id).delivery("email")
    assert (email.status, email.error) == ("sent", None) and email.sent_at is not None


def test_pending_photos_are_found_by_shard_when_stale_nudged_once_and_settled(stack: Stack) -> None:
    from photolane_common.photos import pending_shard

    store = PhotoStore()
    photo = _new_photo(store)
    shard = pending_shard(photo.id)
    assert store.get(photo.id).pending == shard
    assert photo.id not in store.stale(shard, datetime.now(UTC) - timedelta(minutes=2))  # too recent
    assert photo.id in store.stale(shard, datetime.now(UTC) + timedelta(seconds=1))
    seen = store.get(photo.id)
    assert store.nudge(seen)
    assert not store.nudge(seen)  # another reconciler came first
    assert store.get(photo.id).nudges == 1
    store.settled(photo.id)  # not finished yet: stays pending
    assert store.get(photo.id).pending == shard
    store.mark_failed(photo.id, "broken")
    store.settled(photo.id)
    assert store.get(photo.id).pending is None
    assert photo.id not in store.stale(shard, datetime.now(UTC) + timedelta(seconds=1))
    assert store.mark_processing(photo.id)  # tried again (a redrive): pending again
    assert store.get(photo.id).pending == shard


# -- clusters of unknown faces: summaries and the listing -------------------------------------------
def _in_clusters(store: PhotoStore, *clusters: str) -> Photo:
    """A processed photo with one unknown face in each of these clusters, filed."""
    photo = _new_photo(store)
    faces = tuple(Face((0, 10, 10, 0), encoding=b"\0" * 512, cluster=c, crop=f"faces/{photo.id}/{i}.jpg")
                  for i, c in enumerate(clusters))
    store.mark_processed(photo.id, ProcessedImage("f", "t", "r", 10, 10, faces))
    done = store.get(photo.id)
    store.file_faces((done, ()))
    return done


def test_the_unknown_people_are_listed_largest_first_a_page_at_a_time(stack: Stack) -> None:
    store = PhotoStore()
    sizes = {"a": 3, "b": 1, "c": 2, "d": 4, "e": 1}
    photos = {c: [_in_clusters(store, c) for _ in range(n)] for c, n in sizes.items()}
    seen, cursor = [], None
    for _ in range(10):
        page, cursor = store.unknown_people(2, cursor)
        assert len(page) <= 2
        seen += page
        if cursor is None:
            break
    assert [s.faces for s in seen] == [4, 3, 2, 1, 1]
    assert {s.cluster for s in seen} == set(sizes)
    d = next(s for s in seen if s.cluster == "d")
    assert d.photos == 4 and set(d.sample) <= {p.id for p in photos["d"]} and len(d.sample) == 4
    assert d.cover.crop == f"faces/{d.cover.photo_id}/0.jpg"


def test_a_cursor_not_made_here_is_refused(stack: Stack) -> None:
    store = PhotoStore()
    forged = base64.urlsafe_b64encode(json.dumps({"owner": {"S": "x"}}).encode()).decode()
    for cursor in ("%%%", "bm90IGpzb24", forged, base64.urlsafe_b64encode(b"[1]").decode()):
        with pytest.raises(BadCursor):
            store.unknown_people(2, cursor)


def test_a_cluster_counted_by_many_at_once_ends_with_every_face(stack: Stack) -> None:
    """Processors filing faces of one cluster at the same moment: the summary that stays counts all."""
    store = PhotoStore()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _in_clusters(store, "crowd"), range(12)))
    summary = store.cluster("crowd")
    assert (summary.faces, summary.photos) == (12, 12)


def test_a_cluster_emptied_leaves_the_listing(stack: Stack) -> None:
    store = PhotoStore()
    photo = _in_clusters(store, "gone")
    assert store.cluster("gone").faces == 1
    named = tuple(Face(f.box, person_id="p", encoding=f.encoding) for f in photo.faces)
    store.file_faces((Photo(**{**photo.__dict__, "faces": named}), photo.faces))
    assert store.cluster("gone") is None
    assert "gone" not in {s.cluster for s in store.unknown_people(100)[0]}


def test_an_emptied_cluster_joined_meanwhile_is_counted_again_not_deleted(stack: Stack) -> None:
    """The summary of one face, read in a batch before that face left: a face filed in the cluster in
    between changed its count, so the shortcut's delete is refused and the cluster counted again."""
    store = PhotoStore()
    first = _in_clusters(store, "joined")
    stale = FaceModel.get(f"{SUMMARY}joined", "-", consistent_read=True)
    FaceModel(f"{CLUSTER}joined", f"{first.id}#0").delete()  # the face taken out…
    second = _in_clusters(store, "joined")  # …and another one filed before the count
    _count_again("joined", read=stale, gone=frozenset({f"{first.id}#0"}))
    summary = store.cluster("joined")
    assert summary is not None and summary.faces == 1 and summary.sample == (second.id,)


def test_a_record_from_before_packed_faces_is_read_as_it_was_and_written_packed(stack: Stack) -> None:
    from photolane_common import aws
    from photolane_common.settings import CommonSettings

    settings = CommonSettings()
    dynamodb = aws.client("dynamodb", settings)
    store = PhotoStore()
    photo = _new_photo(store)
    encoding = bytes(range(256)) * 2
    legacy = {"L": [{"M": {"top": {"N": "1"}, "right": {"N": "20"}, "bottom": {"N": "30"}, "left": {"N": "2"},
                           "person_id": {"S": "p-1"}, "distance": {"N": "0.41"}, "encoding": {"B": encoding},
                           "rejected": {"S": "p-7,p-8"}, "named_by": {"S": "match"}}},
                    {"M": {"top": {"N": "5"}, "right": {"N": "6"}, "bottom": {"N": "7"}, "left": {"N": "8"},
                           "cluster": {"S": "c-1"}, "suggestion": {"S": "p-2"}, "suggestion_distance": {"N": "0.58"}}}]}
    dynamodb.update_item(TableName=settings.photos_table, Key={"id": {"S": photo.id}},
                         UpdateExpression="SET faces = :f", ExpressionAttributeValues={":f": legacy})
    faces = (Face(box=(1, 20, 30, 2), person_id="p-1", distance=0.41, encoding=encoding, rejected=("p-7", "p-8"),
                  named_by="match"),
             Face(box=(5, 6, 7, 8), cluster="c-1", suggestion="p-2", suggestion_distance=0.58))
    read = store.get(photo.id)
    assert read is not None and read.faces == faces
    assert store.many([photo.id])[photo.id].faces == faces

    renamed = (faces[0], Face(box=(5, 6, 7, 8), person_id="p-2", distance=0.5, named_by="owner"))
    store.change_faces(photo.id, lambda _: renamed)
    item = dynamodb.get_item(TableName=settings.photos_table, Key={"id": {"S": photo.id}}, ConsistentRead=True)["Item"]
    assert "faces" not in item and set(item["packed_faces"]) == {"B"}  # one value now, the list gone
    assert store.get(photo.id).faces == renamed
