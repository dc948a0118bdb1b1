"""Collections end to end (real model, real stack, as `make run` runs it): the same face is named by each
collection's own people; upload links put photos into their collection and nowhere else; a deleted
collection is erased."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import requests

from photolane.testing import wait_for

from .conftest import Running, finished, upload
from .test_faces import _admin, _names, _settled

pytestmark = pytest.mark.e2e


def _make(running: Running, cid: str, name: str) -> dict[str, Any]:
    answer = requests.post(f"{running.url}/api/collections", headers=_admin(running), timeout=10,
                           json={"id": cid, "name": name, "attributes": {"school": "Hill School"}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _enroll(running: Running, name: str, photo: bytes, collection: str) -> str:
    answer = requests.post(f"{running.url}/api/people", headers=_admin(running), timeout=30,
                           data={"name": name, "collection": collection}, files={"photo": ("face.jpg", photo)})
    assert answer.status_code == 202, answer.text
    assert _settled(running, answer.json()["id"])["status"] == "enrolled"
    return answer.json()["id"]


def _link(running: Running, collection: str) -> str:
    answer = requests.post(f"{running.url}/api/collections/{collection}/links", headers=_admin(running),
                           json={"label": "the teacher", "days": 7}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["code"]


def test_each_collection_names_its_own_people_and_links_upload_only_into_theirs(running: Running,
                                                                               faces_dir: Path) -> None:
    _make(running, "class-a", "Class A")
    _make(running, "class-b", "Class B")
    obama = (faces_dir / "obama_1.jpg").read_bytes()
    in_a = _enroll(running, "Barack Obama", obama, "class-a")
    in_b = _enroll(running, "Mr President", obama, "class-b")
    group = (faces_dir / "group_obama_biden_and_one_more.jpg").read_bytes()
    link_a, link_b = _link(running, "class-a"), _link(running, "class-b")

    # No token: the links decide where a photo goes; naming a collection without one is refused.
    refused = upload(running, group, collection="class-b")
    assert refused.status_code == 403, refused.text
    photo_a = finished(running, upload(running, group, link=link_a).json()["id"])
    photo_b = finished(running, upload(running, group, link=link_b, collection="class-a").json()["id"])
    plain = finished(running, upload(running, group).json()["id"])
    assert (photo_a["collection"], photo_b["collection"], plain["collection"]) == ("class-a", "class-b", "default")
    assert _names(photo_a) == [None, None, "Barack Obama"]
    assert _names(photo_b) == [None, None, "Mr President"]
    assert _names(plain) == [None, None, None]
    assert {f["person"]["id"] for f in photo_a["faces"] if f["person"]} == {in_a}
    rows = list(csv.DictReader(io.StringIO(requests.get(photo_b["results_url"], timeout=10).text)))
    assert {r["collection"] for r in rows} == {"class-b"} and "Mr President" in {r["name"] for r in rows}

    # The people listing by collection, and a name given across collections refused.
    listed = requests.get(f"{running.url}/api/people", params={"collection": "class-a"}, headers=_admin(running),
                          timeout=10).json()["people"]
    assert [p["id"] for p in listed] == [in_a]
    across = requests.post(f"{running.url}/api/photos/{photo_b['id']}/faces/0/person", headers=_admin(running),
                           json={"person_id": in_a}, timeout=10)
    assert across.status_code == 409 and "never cross collections" in across.json()["error"]
    # The upload page of a link says where photos go; anyone without the token reads no collection.
    page = requests.get(f"{running.url}/u/{link_a}", timeout=10)
    assert page.status_code == 200 and "Upload a photo to Class A" in page.text
    assert requests.get(f"{running.url}/api/collections/class-b", timeout=10).status_code == 401

    # Deleting class B erases it; class A and the default collection are untouched.
    deleting = requests.delete(f"{running.url}/api/collections/class-b", headers=_admin(running), timeout=10)
    assert deleting.status_code == 202
    wait_for(lambda: requests.get(f"{running.url}/api/collections/class-b", headers=_admin(running),
                                  timeout=10).status_code == 404, what="class-b erased")
    assert requests.get(f"{running.url}/api/photos/{photo_b['id']}", timeout=10).status_code == 404
    assert requests.get(f"{running.url}/api/people/{in_b}", headers=_admin(running), timeout=10).status_code == 404
    assert upload(running, group, link=link_b).status_code == 403
    assert _names(finished(running, photo_a["id"])) == [None, None, "Barack Obama"]
    assert requests.get(f"{running.url}/api/faces/unknown", params={"collection": "class-a"},
                        headers=_admin(running), timeout=10).json()["clusters"]
