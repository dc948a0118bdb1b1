"""The admin export through Flask's client, against a real moto server."""

import csv
import io
import json

from flask.testing import FlaskClient

from photolane_common.domain import Face, ProcessedImage
from photolane_common.people import PeopleStore
from photolane_common.photos import PhotoStore
from photolane_upload.export import CSV_COLUMNS

from ..conftest import ADMIN_TOKEN, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _upload(client: FlaskClient, filename: str, **fields: str) -> str:
    answer = client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), filename), **fields},
                         content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["id"]


def _named_photo(client: FlaskClient) -> tuple[str, str]:
    """One processed photo naming an enrolled person, one unknown face beside them."""
    person = PeopleStore().create("p-1", "Ada Lovelace", {"born": 1815}, "people/p-1/a.jpg")
    photo_id = _upload(client, "=HYPERLINK(1).jpg", email="ada@example.com", phone="+14155552671")
    faces = (Face((1, 20, 30, 2), person.id, 0.31, None), Face((40, 60, 70, 45), None, None, None))
    PhotoStore().mark_processed(photo_id, ProcessedImage(
        flipped_key="flipped/x.jpg", thumbnail_key="thumbs/x.jpg", results_key="results/x.csv",
        width=64, height=48, faces=faces))
    return photo_id, person.id


def test_export_needs_the_admin_token(client: FlaskClient) -> None:
    assert client.get("/api/admin/export").status_code == 401
    assert client.get("/api/admin/export", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/admin/export?format=xml", headers=ADMIN).status_code == 400


def test_export_json_has_every_photo_and_person(client: FlaskClient) -> None:
    photo_id, person_id = _named_photo(client)
    other = _upload(client, "other.png")
    answer = client.get("/api/admin/export", headers=ADMIN)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert "attachment" in answer.headers["Content-Disposition"]
    body = json.loads(answer.data)
    photos = {p["id"]: p for p in body["photos"]}
    assert set(photos) == {photo_id, other}
    assert photos[other]["status"] == "queued"
    named = photos[photo_id]
    assert named["status"] == "processed" and named["email"] == "ada@example.com"
    assert named["faces"][0] == {"box": [1, 20, 30, 2], "person_id": person_id, "name": "Ada Lovelace",
                                 "distance": 0.31}
    assert named["faces"][1]["person_id"] is None
    assert [p["name"] for p in body["people"]] == ["Ada Lovelace"]
    assert body["people"][0]["attributes"] == {"born": 1815}


def test_export_csv_one_row_a_record_and_no_formulas(client: FlaskClient) -> None:
    photo_id, person_id = _named_photo(client)
    answer = client.get("/api/admin/export?format=csv", headers=ADMIN)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    by_id = {row["id"]: row for row in rows}
    assert by_id[person_id]["record"] == "person" and by_id[person_id]["name"] == "Ada Lovelace"
    photo = by_id[photo_id]
    assert photo["record"] == "photo" and photo["status"] == "processed"
    assert photo["people"] == "Ada Lovelace"
    assert photo["phone"] == "+14155552671"  # a number stays a number
    assert photo["filename"].startswith("'=")  # a formula is defused
    assert len(json.loads(photo["faces"])) == 2


def test_export_of_nothing_is_valid(client: FlaskClient) -> None:
    body = json.loads(client.get("/api/admin/export", headers=ADMIN).data)
    assert body["photos"] == [] and body["people"] == []
    text = client.get("/api/admin/export?format=csv", headers=ADMIN).get_data(as_text=True)
    assert text.splitlines() == [",".join(CSV_COLUMNS)]
