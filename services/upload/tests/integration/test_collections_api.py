"""Collections and upload links through Flask's client, against a real moto server: who may put a photo
or a person into a collection, what a link opens, what a revoked or expired one says."""

import io
import json
import time
from pathlib import Path

from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.models import SettingModel
from photolane_common.settings import CommonSettings
from photolane_upload.upload_links import PREFIX, code_hash

from ..conftest import ADMIN_TOKEN, form_token, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _make(client: FlaskClient, cid: str = "7b", name: str = "Class 7B", **more: object):
    return client.post("/api/collections", json={"id": cid, "name": name, **more}, headers=ADMIN)


def _upload(client: FlaskClient, headers: dict | None = None, **fields: str):
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg"), **fields},
                       content_type="multipart/form-data", headers=headers or {})


def _jobs(stack: Stack) -> list[dict]:
    sqs = aws.client("sqs", CommonSettings())
    out = sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [b for b in (json.loads(m["Body"]) for m in out.get("Messages", [])) if "type" in b]


def test_the_admin_makes_reads_and_lists_collections(client: FlaskClient) -> None:
    assert client.post("/api/collections", json={"id": "7b", "name": "x"}).status_code == 401
    made = _make(client, "7B", " Class  7B ", attributes={"school": "Hill", "year": "2026"})
    assert made.status_code == 201 and made.headers["Location"] == "/api/collections/7b"
    body = made.get_json()
    assert (body["id"], body["name"], body["attributes"], body["status"], body["links"]) == (
        "7b", "Class 7B", {"school": "Hill", "year": "2026"}, "active", [])
    assert _make(client, "7b").status_code == 409
    assert _make(client, "default").status_code == 409
    assert "1 to 40 letters" in _make(client, "no spaces").get_json()["error"]
    assert _make(client, "x" * 41).status_code == 400
    assert _make(client, "ok", name=5).status_code == 400
    assert client.get("/api/collections/7B", headers=ADMIN).get_json()["name"] == "Class 7B"
    assert client.get("/api/collections/nope", headers=ADMIN).status_code == 404
    _make(client, "8a", "Class 8A")
    first = client.get("/api/collections?limit=1", headers=ADMIN).get_json()
    second = client.get(f"/api/collections?limit=1&cursor={first['next']}", headers=ADMIN).get_json()
    assert {c["id"] for c in first["collections"] + second["collections"]} == {"7b", "8a"}


def test_a_photo_goes_into_a_collection_only_by_its_link_or_the_admin(client: FlaskClient, stack: Stack) -> None:
    _make(client)
    assert _upload(client).get_json()["collection"] == "default"
    refused = _upload(client, collection="7b")
    assert refused.status_code == 403 and "upload link" in refused.get_json()["error"]
    assert _upload(client, ADMIN, collection="nope").status_code == 404
    by_admin = _upload(client, ADMIN, collection="7b").get_json()
    assert by_admin["collection"] == "7b"
    assert client.get(by_admin["url"]).get_json()["collection"] == "7b"

    link = client.post("/api/collections/7b/links", json={"label": "Ms Patel", "days": 30}, headers=ADMIN)
    assert link.status_code == 201
    made = link.get_json()
    assert made["url"] == f"/u/{made['code']}" and made["label"] == "Ms Patel" and made["expires_at"]
    listed = client.get("/api/collections/7b", headers=ADMIN).get_json()["links"]
    assert [entry["id"] for entry in listed] == [made["id"]] and "code" not in listed[0]
    assert SettingModel.get(PREFIX + code_hash(made["code"])).value["collection"] == "7b"  # only the hash is kept
    via_link = _upload(client, link=made["code"])
    assert via_link.status_code == 202 and via_link.get_json()["collection"] == "7b"
    # A link names its own collection: the field "collection" cannot send it elsewhere.
    assert _upload(client, link=made["code"], collection="default").get_json()["collection"] == "7b"

    page = client.get(made["url"])
    assert page.status_code == 200 and "Upload a photo to Class 7B" in page.get_data(as_text=True)
    form = {"file": (io.BytesIO(image_bytes()), "b.jpg"), "csrf_token": form_token(client, made["url"]),
            "link": made["code"]}
    answer = client.post("/photos", data=form, content_type="multipart/form-data",
                         headers={"Accept": "application/json"})
    assert answer.status_code == 202
    assert client.get(f"/api/photos/{answer.get_json()['id']}").get_json()["collection"] == "7b"

    assert client.delete(f"/api/collections/7b/links/{made['id']}", headers=ADMIN).get_json()["status"] == "revoked"
    gone = _upload(client, link=made["code"])
    assert gone.status_code == 403 and "not valid any more" in gone.get_json()["error"]
    assert client.get(made["url"]).status_code == 404
    assert _upload(client, link="x" * 32).status_code == 403
    assert client.get("/api/collections/7b", headers=ADMIN).get_json()["links"] == []


def test_an_expired_link_stops_working(client: FlaskClient) -> None:
    _make(client)
    made = client.post("/api/collections/7b/links", json={}, headers=ADMIN).get_json()
    assert made["expires_at"] is None and _upload(client, link=made["code"]).status_code == 202
    item = SettingModel.get(PREFIX + code_hash(made["code"]))
    item.expires_at = int(time.time()) - 1  # as if its days had passed (the table's TTL has not run yet)
    item.save()
    assert _upload(client, link=made["code"]).status_code == 403
    for bad in ({"days": 0}, {"days": 400}, {"days": "3"}, {"label": 5}, []):
        assert client.post("/api/collections/7b/links", json=bad, headers=ADMIN).status_code == 400, bad


def test_people_are_enrolled_listed_and_named_within_their_collection(client: FlaskClient, stack: Stack,
                                                                      faces_dir: Path) -> None:
    _make(client)
    _make(client, "8a", "Class 8A")
    photo = (faces_dir / "obama_1.jpg").read_bytes()
    enroll = lambda **f: client.post("/api/people", data={"photo": (io.BytesIO(photo), "f.jpg"), "name": "Obama",  # noqa: E731
                                                          **f}, content_type="multipart/form-data", headers=ADMIN)
    in_7b = enroll(collection="7B").get_json()
    in_8a = enroll(collection="8a").get_json()
    assert (in_7b["collection"], in_8a["collection"]) == ("7b", "8a")
    assert enroll(collection="nope").status_code == 404
    assert enroll(collection="bad id").status_code == 400
    listed = client.get("/api/people?collection=7b", headers=ADMIN).get_json()
    assert [p["id"] for p in listed["people"]] == [in_7b["id"]] and listed["people"][0]["collection"] == "7b"
    assert client.get("/api/people?collection=default", headers=ADMIN).get_json()["people"] == []
    assert len(client.get("/api/people", headers=ADMIN).get_json()["people"]) == 2
    # Merging two collections' people is refused, with the reason.
    merge = client.post(f"/api/people/{in_7b['id']}/merge", json={"person_id": in_8a["id"]}, headers=ADMIN)
    assert merge.status_code == 409 and "never cross collections" in merge.get_json()["error"]
    assert client.get("/api/faces/unknown?collection=8a", headers=ADMIN).get_json() == {"clusters": [], "next": None}
    assert client.get("/api/faces/unknown?collection=a%20b", headers=ADMIN).status_code == 400


def test_deleting_a_collection_refuses_what_would_go_into_it_and_queues_its_erasure(client: FlaskClient,
                                                                                   stack: Stack) -> None:
    _make(client)
    code = client.post("/api/collections/7b/links", json={}, headers=ADMIN).get_json()["code"]
    _jobs(stack)
    assert client.delete("/api/collections/default", headers=ADMIN).status_code == 400
    deleting = client.delete("/api/collections/7b", headers=ADMIN)
    assert deleting.status_code == 202 and deleting.get_json() == {"id": "7b", "status": "deleting"}
    assert [j["data"] for j in _jobs(stack) if j["type"] == "collection.deleted"] == [{"collection": "7b"}]
    assert _upload(client, ADMIN, collection="7b").status_code == 409
    assert _upload(client, link=code).status_code == 409
    assert client.post("/api/collections/7b/links", json={}, headers=ADMIN).status_code == 409


def test_the_export_of_one_collection_holds_only_its_photos_and_people(client: FlaskClient) -> None:
    _make(client)
    in_7b = _upload(client, ADMIN, collection="7b").get_json()["id"]
    elsewhere = _upload(client).get_json()["id"]
    enrolled = client.post("/api/people", data={"name": "Bo", "collection": "7b",
                                                "photo": (io.BytesIO(image_bytes()), "bo.jpg")},
                           content_type="multipart/form-data", headers=ADMIN)
    assert enrolled.status_code == 202, enrolled.get_json()
    whole = client.get("/api/admin/export", headers=ADMIN).get_json()
    assert {in_7b, elsewhere} <= {p["id"] for p in whole["photos"]}
    only = client.get("/api/admin/export?collection=7B", headers=ADMIN)
    assert 'export-7b-' in only.headers["Content-Disposition"]
    assert [p["id"] for p in only.get_json()["photos"]] == [in_7b]
    assert [p["name"] for p in only.get_json()["people"]] == ["Bo"]
    as_csv = client.get("/api/admin/export?collection=7b&format=csv", headers=ADMIN).get_data(as_text=True)
    assert in_7b in as_csv and elsewhere not in as_csv
    assert client.get("/api/admin/export?collection=nope", headers=ADMIN).status_code == 404
    assert client.get("/api/admin/export?collection=../x", headers=ADMIN).status_code == 400
    assert client.get("/api/admin/export?collection=7b").status_code == 401
