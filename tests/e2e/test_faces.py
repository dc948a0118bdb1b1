"""Faces end to end: enroll people over the API, then every photo names them (real model, real stack)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from photolane.testing import exif_rotated, wait_for

from .conftest import Running, finished, upload

pytestmark = pytest.mark.e2e

PEOPLE = {
    "obama": "Barack Obama",
    "biden": "Joe Biden",
    "alex_lacamoire": "Alex Lacamoire",
    "kit_harington": "Kit Harington",
    "rose_leslie": "Rose Leslie",
}
EXPECTED = {  # photo → the names in it (None: a face nobody enrolled)
    "obama_2.jpg": ["Barack Obama"],
    "biden_2.jpg": ["Joe Biden"],
    "alex_lacamoire_3.jpg": ["Alex Lacamoire"],
    "kit_harington_2.jpg": ["Kit Harington"],
    "kit_harington_3.jpg": ["Kit Harington"],
    "rose_leslie_2.jpg": ["Rose Leslie"],
    "group_kit_and_rose.jpg": ["Kit Harington", "Rose Leslie"],
    "group_obama_biden_and_one_more.jpg": [None, "Barack Obama", "Joe Biden"],
}


def _admin(running: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {running.admin_token}"}


def _enroll(running: Running, name: str, photo: bytes, attributes: str | None = None) -> str:
    answer = requests.post(f"{running.url}/api/people", headers=_admin(running), timeout=30,
                           data={"name": name, **({"attributes": attributes} if attributes else {})},
                           files={"photo": ("face.jpg", photo)})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def _settled(running: Running, person_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        person = requests.get(f"{running.url}/api/people/{person_id}", headers=_admin(running), timeout=10).json()
        return person if person["status"] != "enrolling" else None

    return wait_for(done, what=f"person {person_id} to settle")


def _names(photo: dict[str, Any]) -> list[str | None]:
    return sorted((f["person"]["name"] if f["person"] else None for f in photo["faces"]), key=lambda n: n or "")


def test_people_are_named_in_every_photo_past_and_future(running: Running, faces_dir: Path) -> None:
    # A photo processed before anyone is enrolled...
    early = finished(running, upload(running, (faces_dir / "obama_3.jpg").read_bytes()).json()["id"])
    assert early["status"] == "processed" and _names(early) == [None]

    ids = {key: _enroll(running, name, (faces_dir / f"{key}_1.jpg").read_bytes(), '{"source": "tests"}')
           for key, name in PEOPLE.items()}
    for person_id in ids.values():
        assert _settled(running, person_id)["status"] == "enrolled"

    # ...is named after the enrollment, without being processed again.
    named = wait_for(lambda: (p := finished(running, early["id"]))["faces"][0]["person"] and p,
                     what="the early photo to be named")
    assert named["faces"][0]["person"]["name"] == "Barack Obama"
    assert named["faces"][0]["box"] == early["faces"][0]["box"]

    phone = f"+1415555{2000 + uuid.uuid4().int % 8000:04d}"
    uploaded = {name: upload(running, (faces_dir / name).read_bytes(), phone=phone if "group_obama" in name else "")
                for name in EXPECTED}
    for name, answer in uploaded.items():
        photo = finished(running, answer.json()["id"])
        assert photo["status"] == "processed", photo["error"]
        assert _names(photo) == sorted(EXPECTED[name], key=lambda n: n or ""), name
        for face in photo["faces"]:
            if face["person"]:
                assert face["distance"] <= 0.6 and face["person"]["attributes"] == {"source": "tests"}

    group = finished(running, uploaded["group_obama_biden_and_one_more.jpg"].json()["id"])
    rows = list(csv.DictReader(io.StringIO(requests.get(group["results_url"], timeout=10).text)))
    assert sorted(row["name"] for row in rows) == ["", "Barack Obama", "Joe Biden"]
    assert {row["person_id"] for row in rows if row["name"]} == {ids["obama"], ids["biden"]}
    sms = wait_for(lambda: [m for m in running.standin.sms() if m["phone_number"] == phone], what="the SMS")
    assert "Barack Obama and Joe Biden are in your photo" in sms[0]["message"] or \
        "Joe Biden and Barack Obama are in your photo" in sms[0]["message"]


@pytest.mark.parametrize("orientation", [6, 8])
def test_portrait_stored_sideways_is_named(running: Running, faces_dir: Path, orientation: int) -> None:
    person_id = _enroll(running, f"Barack Obama {orientation}", (faces_dir / "obama_1.jpg").read_bytes())
    assert _settled(running, person_id)["status"] == "enrolled"
    photo = finished(running, upload(running, exif_rotated(faces_dir / "obama_2.jpg", orientation)).json()["id"])
    # Named, or (Obama is enrolled more than once in this shared stack, so no name has a margin) asked.
    face = photo["faces"][0]
    who = face["person"] or face["suggestion"]
    assert len(photo["faces"]) == 1 and who is not None and who["name"].startswith("Barack Obama")


def test_enrollment_photo_with_no_face_or_two_fails_with_its_error(running: Running, faces_dir: Path) -> None:
    scenery = io.BytesIO()
    Image.open(faces_dir / "group_obama_biden_and_one_more.jpg").crop((0, 0, 300, 250)).save(scenery, "JPEG")
    nobody = _settled(running, _enroll(running, "Nobody", scenery.getvalue()))
    assert nobody["status"] == "failed" and nobody["error"].startswith("no face found")
    pair = _settled(running, _enroll(running, "Kit and Rose", (faces_dir / "group_kit_and_rose.jpg").read_bytes()))
    assert pair["status"] == "failed" and pair["error"].startswith("2 faces found")


def test_deleting_a_person_un_names_their_faces(running: Running, faces_dir: Path) -> None:
    person_id = _enroll(running, "Alex L.", (faces_dir / "alex_lacamoire_1.jpg").read_bytes())
    _settled(running, person_id)
    photo = finished(running, upload(running, (faces_dir / "alex_lacamoire_3.jpg").read_bytes()).json()["id"])
    # Named, or asked about when another test enrolled him too (no margin between the two).
    who = photo["faces"][0]["person"] or photo["faces"][0]["suggestion"]
    assert who and who["name"] in ("Alex L.", "Alex Lacamoire")
    assert requests.delete(f"{running.url}/api/people/{person_id}", headers=_admin(running), timeout=10).ok

    def unnamed() -> bool:
        again = finished(running, photo["id"])
        return all((f["person"] is None or f["person"]["id"] != person_id)
                   and (f["suggestion"] is None or f["suggestion"]["id"] != person_id) for f in again["faces"])

    wait_for(unnamed, what="the face to be un-named")
