"""The people API (admin) through Flask's client, against a real moto server."""

import io
import json
from pathlib import Path

from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.domain import Face, ProcessedImage
from photolane_common.settings import CommonSettings

from ..conftest import ADMIN_TOKEN, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _enroll(client: FlaskClient, photo: bytes, **fields: str):
    return client.post("/api/people", data={"photo": (io.BytesIO(photo), "face.jpg"), **fields},
                       content_type="multipart/form-data", headers=ADMIN)


def _jobs(stack: Stack) -> list[dict]:
    sqs = aws.client("sqs", CommonSettings())
    out = sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in out.get("Messages", [])]
    return [b for b in bodies if "type" in b]  # not the test event of the S3 drop-in notification


def test_enrolling_stores_the_photo_and_queues_the_encoding(client: FlaskClient, stack: Stack,
                                                            faces_dir: Path) -> None:
    answer = _enroll(client, (faces_dir / "obama_1.jpg").read_bytes(), name=" Barack  Obama ",
                     attributes='{"role": "president", "terms": 2}')
    assert answer.status_code == 202
    person_id = answer.get_json()["id"]
    assert answer.get_json()["status"] == "enrolling"
    job = _jobs(stack)[0]
    assert job["type"] == "person.photo_added" and job["data"]["person_id"] == person_id
    assert job["data"]["photo_key"].startswith(f"people/{person_id}/")

    person = client.get(f"/api/people/{person_id}", headers=ADMIN).get_json()
    assert (person["name"], person["attributes"]) == ("Barack Obama", {"role": "president", "terms": 2})
    assert person["photos"][0]["status"] == "enrolling" and person["photos"][0]["url"]
    assert [p["id"] for p in client.get("/api/people", headers=ADMIN).get_json()["people"]] == [person_id]

    more = client.post(f"/api/people/{person_id}/photos", headers=ADMIN, content_type="multipart/form-data",
                       data={"photo": (io.BytesIO((faces_dir / "obama_2.jpg").read_bytes()), "2.jpg")})
    assert more.status_code == 202
    assert len(client.get(f"/api/people/{person_id}", headers=ADMIN).get_json()["photos"]) == 2


def test_bad_enrollments_are_refused(client: FlaskClient) -> None:
    assert _enroll(client, image_bytes()).get_json()["error"] == "name is required"
    assert "JSON object" in _enroll(client, image_bytes(), name="A", attributes="[1]").get_json()["error"]
    assert "not valid JSON" in _enroll(client, image_bytes(), name="A", attributes="{").get_json()["error"]
    nested = _enroll(client, image_bytes(), name="A", attributes='{"x": {"y": 1}}')
    assert nested.status_code == 400 and "'x'" in nested.get_json()["error"]
    assert "not a readable image" in _enroll(client, b"text", name="A").get_json()["error"]
    no_photo = client.post("/api/people", data={"name": "A"}, content_type="multipart/form-data", headers=ADMIN)
    assert no_photo.status_code == 400 and "'photo'" in no_photo.get_json()["error"]


def test_people_routes_need_the_admin_token(client: FlaskClient) -> None:
    assert client.get("/api/people").status_code == 401
    assert client.get("/api/people/x").status_code == 401
    assert client.delete("/api/people/x").status_code == 401
    assert client.post("/api/people", data={"name": "A"}).status_code == 401
    assert client.get("/api/people/x", headers=ADMIN).status_code == 404


def test_deleting_a_person_queues_the_un_naming(client: FlaskClient, stack: Stack) -> None:
    person_id = _enroll(client, image_bytes(), name="Someone").get_json()["id"]
    _jobs(stack)
    assert client.delete(f"/api/people/{person_id}", headers=ADMIN).get_json() == {"id": person_id,
                                                                                   "status": "deleted"}
    assert client.delete(f"/api/people/{person_id}", headers=ADMIN).status_code == 404
    assert [j["type"] for j in _jobs(stack)] == ["person.deleted"]


def test_photo_answer_names_the_person_of_each_face(client: FlaskClient, app) -> None:
    deps = app.extensions["photolane"]
    person_id = _enroll(client, image_bytes(), name="Joe Biden", attributes='{"role": "vp"}').get_json()["id"]
    photo_id = client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg")},
                           content_type="multipart/form-data").get_json()["id"]
    deps.photos.mark_processed(photo_id, ProcessedImage("f", "t", "r", 1, 1, (
        Face((1, 2, 3, 0), person_id, 0.42), Face((4, 5, 6, 3), None, 0.71))))
    faces = client.get(f"/api/photos/{photo_id}").get_json()["faces"]
    assert faces[0]["person"] == {"id": person_id, "name": "Joe Biden", "attributes": {"role": "vp"}}
    assert faces[0]["distance"] == 0.42
    assert faces[1]["person"] is None
    page = client.get(f"/photos/{photo_id}").data.decode()
    assert "In this photo: <span id=\"people\">Joe Biden</span>" in page


def test_an_enrollment_that_cannot_be_queued_fails_instead_of_hanging(client: FlaskClient, app,
                                                                     faces_dir: Path) -> None:
    deps = app.extensions["photolane"]

    class DownQueue:
        def send(self, message: object) -> str:
            raise ConnectionError("SQS is down")

    working, deps.jobs = deps.jobs, DownQueue()
    try:
        answer = _enroll(client, (faces_dir / "obama_1.jpg").read_bytes(), name="Barack Obama")
    finally:
        deps.jobs = working
    assert answer.status_code == 503 and "send it again" in answer.get_json()["error"]
    (person,) = client.get("/api/people", headers=ADMIN).get_json()["people"]
    assert person["status"] == "failed" and "could not be queued" in person["error"]


def test_one_call_enrolls_a_person_from_several_photos(client: FlaskClient, stack: Stack, faces_dir: Path) -> None:
    _jobs(stack)
    photos = [(io.BytesIO((faces_dir / name).read_bytes()), name) for name in ("obama_1.jpg", "obama_2.jpg")]
    answer = client.post("/api/people", data={"name": "Barack Obama", "photo": photos},
                         content_type="multipart/form-data", headers=ADMIN)
    assert answer.status_code == 202 and answer.get_json()["photos"] == 2
    person_id = answer.get_json()["id"]
    person = client.get(f"/api/people/{person_id}", headers=ADMIN).get_json()
    assert [p["status"] for p in person["photos"]] == ["enrolling", "enrolling"]
    jobs = _jobs(stack)
    assert sorted(j["data"]["person_id"] for j in jobs) == [person_id, person_id]  # one encoding a photo
    assert len({j["data"]["photo_key"] for j in jobs}) == 2

    # each photo is checked before anything is stored: one refused refuses the call, and says which
    bad = [(io.BytesIO((faces_dir / "biden_1.jpg").read_bytes()), "a.jpg"), (io.BytesIO(b"text"), "b.jpg")]
    refused = client.post("/api/people", data={"name": "Joe Biden", "photo": bad},
                          content_type="multipart/form-data", headers=ADMIN)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "photo 2: the file is not a readable image (JPEG, PNG, WebP or HEIC)"
    too_many = [(io.BytesIO(image_bytes()), f"{n}.jpg") for n in range(11)]
    over = client.post("/api/people", data={"name": "Joe Biden", "photo": too_many},
                       content_type="multipart/form-data", headers=ADMIN)
    assert over.status_code == 400 and "at most 10" in over.get_json()["error"]
    names = [p["name"] for p in client.get("/api/people", headers=ADMIN).get_json()["people"]]
    assert "Joe Biden" not in names and _jobs(stack) == []
