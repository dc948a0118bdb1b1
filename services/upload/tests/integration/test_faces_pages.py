"""Naming faces from the pages (the photo page, the admin's people, person and unknown-people pages) and
the faces API's refusals, through Flask's client against a real moto server. The processor is not
running: the tests read the jobs the pages queue."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.domain import Face, ProcessedImage
from photolane_common.settings import CommonSettings
from photolane_upload import admin as admin_pages

from ..conftest import ADMIN_TOKEN, admin_client, form_token, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ENCODING = b"\0" * 512  # 128 float32 values


def _jobs(stack: Stack) -> list[dict[str, Any]]:
    sqs = aws.client("sqs", CommonSettings())
    out = sqs.receive_message(QueueUrl=stack.resources.jobs_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = [json.loads(m["Body"]) for m in out.get("Messages", [])]
    return [b for b in bodies if "type" in b]


def _upload(client: FlaskClient) -> str:
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes(size=(400, 200))), "group.jpg")},
                       content_type="multipart/form-data").get_json()["id"]


def _enroll(client: FlaskClient, name: str, attributes: str | None = None) -> str:
    data: dict[str, Any] = {"photo": (io.BytesIO(image_bytes()), "face.jpg"), "name": name}
    if attributes:
        data["attributes"] = attributes
    return client.post("/api/people", data=data, content_type="multipart/form-data", headers=ADMIN).get_json()["id"]


def _processed(app: Flask, photo_id: str, *faces: Face) -> None:
    """The photo as the processor leaves it: its faces recorded and filed (people, clusters)."""
    deps = app.extensions["photolane"]
    deps.photos.mark_processed(photo_id, ProcessedImage("f", "t", "r", 400, 200, faces))
    deps.photos.file_faces((deps.photos.get(photo_id), ()))


def _csrf(client: FlaskClient, path: str = "/admin") -> str:
    return form_token(client, path)


@pytest.fixture
def group(client: FlaskClient, app: Flask, stack: Stack) -> dict[str, str]:
    """A processed photo of 400x200 with two faces: Joe Biden (named) and an unknown one (cluster c1);
    and a second photo with the same unknown person."""
    biden = _enroll(client, "Joe Biden", '{"role": "vp"}')
    photo_id, other_id = _upload(client), _upload(client)
    _processed(app, photo_id, Face((20, 140, 100, 40), biden, 0.4, ENCODING),
               Face((50, 300, 150, 200), None, None, ENCODING, cluster="c1", crop="faces/x.jpg"))
    _processed(app, other_id, Face((10, 110, 90, 30), None, None, ENCODING, cluster="c1"))
    _jobs(stack)  # the enrollment's
    return {"photo": photo_id, "other": other_id, "biden": biden}


def test_new_face_routes_are_401_without_an_admin_session_and_refuse_a_form_without_csrf(
        client: FlaskClient, group: dict[str, str]) -> None:
    photo = group["photo"]
    for path in ("/admin/people", f"/admin/people/{group['biden']}", "/admin/unknown"):
        answer = client.get(path)
        assert answer.status_code == 401 and 'name="token"' in answer.get_data(as_text=True), path
    token = _csrf(client)
    biden = group["biden"]
    posts = [f"/admin/photos/{photo}/faces/1/person", f"/admin/photos/{photo}/faces/0/unname",
             "/admin/unknown/c1/person", f"/admin/people/{biden}/edit", f"/admin/people/{biden}/merge"]
    for path in posts:
        assert client.post(path, data={"csrf_token": token, "name": "X"}).status_code == 401, path
    admin_client(client)
    for path in posts:
        refused = client.post(path, data={"name": "X", "person_id": group["biden"]})
        assert refused.status_code == 400 and "Form refused" in refused.get_data(as_text=True), path


def test_the_photo_page_draws_a_box_a_face_and_says_who_is_named(client: FlaskClient, group: dict[str, str]) -> None:
    page = client.get(f"/photos/{group['photo']}").get_data(as_text=True)
    assert '<h2 class="face-summary" id="face-summary">1 person named, 1 unknown</h2>' in page
    assert 'In this photo: <span id="people">Joe Biden</span>' in page and "Results (CSV)" in page
    boxes = re.findall(r'<span class="face-box[^"]*" style="([^"]+)" tabindex="0"', page)
    # box (top, right, bottom, left) (20, 140, 100, 40) of a 400x200 photo
    assert boxes[0] == "left: 10.000%; top: 10.000%; width: 25.000%; height: 40.000%"
    assert len(boxes) == 2 and 'aria-label="Face 2: unknown"' in page and 'alt="Face 2: unknown"' in page
    assert 'data-person-id="' + group["biden"] + '"' in page and "Full size" in page
    assert "<form" not in page.split('id="faces"', 1)[1].split("</section>", 1)[0]  # no naming without admin

    admin_client(client)
    page = client.get(f"/photos/{group['photo']}").get_data(as_text=True)
    assert len(re.findall(r'<button type="button" class="face-box', page)) == 2
    assert 'id="face-naming-1"' in page and "Name this face…" in page and "Not Joe Biden" in page
    assert f'<option value="{group["biden"]}">Joe Biden</option>' in page


@pytest.mark.parametrize(("faces", "sentence"), [
    (0, "No faces found."), (1, "1 person named"), (2, "2 people named"), (-1, "Nobody named, 1 unknown")])
def test_the_summary_sentence(client: FlaskClient, app: Flask, faces: int, sentence: str) -> None:
    person = _enroll(client, "A")
    photo_id = _upload(client)
    found = [Face((0, 10, 10, 0), None if faces < 0 else person, None, ENCODING) for _ in range(abs(faces))]
    _processed(app, photo_id, *found)
    assert f'id="face-summary">{sentence}</h2>' in client.get(f"/photos/{photo_id}").get_data(as_text=True)


def test_naming_a_face_from_the_photo_page(client: FlaskClient, app: Flask, stack: Stack,
                                           group: dict[str, str]) -> None:
    admin_client(client)
    photo = group["photo"]
    path = f"/admin/photos/{photo}/faces/1/person"
    named = client.post(path, data={"name": " Barack  Obama ", "attributes": "role: president\nparty: D",
                                    "csrf_token": _csrf(client)})
    assert named.status_code == 303
    assert re.search(rf"/photos/{photo}\?changed=[0-9a-f]{{8}}#faces$", named.headers["Location"])
    (job,) = _jobs(stack)
    assert job["type"] == "person.face_named" and job["data"]["face_index"] == 1
    person = client.get(f"/api/people/{job['data']['person_id']}", headers=ADMIN).get_json()
    assert (person["name"], person["attributes"]) == ("Barack Obama", {"role": "president", "party": "D"})
    after = client.get(named.headers["Location"]).get_data(as_text=True)
    assert "Face 2 is Barack Obama" in after and "this page updates by itself" in after  # until the faces change
    assert 'data-changing="' in after
    deps = app.extensions["photolane"]  # the processor names the face: the page shows it, and stops waiting
    deps.photos.change_faces(photo, lambda p: (p.faces[0], Face(p.faces[1].box, person["id"], 0.0, ENCODING)))
    done = client.get(named.headers["Location"]).get_data(as_text=True)
    assert "this page updates by itself" not in done and 'data-changing="' not in done
    assert '<h2 class="face-summary" id="face-summary">2 people named</h2>' in done

    existing = client.post(path, data={"person_id": group["biden"], "csrf_token": _csrf(client)})
    assert existing.status_code == 303 and _jobs(stack)[0]["data"]["person_id"] == group["biden"]

    def refusal(data: dict[str, str], index: int = 1) -> str:
        answer = client.post(f"/admin/photos/{photo}/faces/{index}/person", data={**data, "csrf_token": _csrf(client)},
                             follow_redirects=True)
        assert answer.status_code == 200 and "this page updates by itself" not in answer.get_data(as_text=True)
        return answer.get_data(as_text=True)

    assert "Name is required." in refusal({"name": "  "})
    assert "Attributes line 1 is not key: value" in refusal({"name": "A", "attributes": "just words"})
    assert "Attributes are not valid JSON" in refusal({"name": "A", "attributes": "{nope"})
    assert "No person nobody." in refusal({"person_id": "nobody"})
    assert "Person_id must be the id of an enrolled person." in refusal({"person_id": ""})
    assert "No face 5 in this photo: it has 2 faces (0 to 1)." in refusal({"name": "A"}, 5)
    assert _jobs(stack) == []
    gone = client.post("/admin/photos/nope/faces/0/person", data={"name": "A", "csrf_token": _csrf(client)},
                       follow_redirects=True)
    assert "No photo nope." in gone.get_data(as_text=True)


def test_taking_a_wrong_name_back(client: FlaskClient, stack: Stack, group: dict[str, str]) -> None:
    admin_client(client)
    photo = group["photo"]
    taken = client.post(f"/admin/photos/{photo}/faces/0/unname", data={"csrf_token": _csrf(client)})
    assert taken.status_code == 303 and "?changed=" in taken.headers["Location"]
    (job,) = _jobs(stack)
    assert job["type"] == "person.face_unnamed" and job["data"]["person_id"] == group["biden"]
    assert "Face 1 is no longer Joe Biden" in client.get(taken.headers["Location"]).get_data(as_text=True)
    back = f"/admin/people/{group['biden']}"
    from_person = client.post(f"/admin/photos/{photo}/faces/0/unname", data={"csrf_token": _csrf(client), "next": back})
    assert from_person.headers["Location"] == back
    elsewhere = client.post(f"/admin/photos/{photo}/faces/0/unname",
                            data={"csrf_token": _csrf(client), "next": "//evil.example/x"})
    assert elsewhere.headers["Location"] == "/admin"
    _jobs(stack)
    unknown = client.post(f"/admin/photos/{photo}/faces/1/unname", data={"csrf_token": _csrf(client)},
                          follow_redirects=True)
    assert "Face 1 of this photo is not named." in unknown.get_data(as_text=True) and _jobs(stack) == []


def test_unknown_people_listed_and_named_from_the_admin_pages(client: FlaskClient, stack: Stack,
                                                              group: dict[str, str]) -> None:
    admin_client(client)
    for path in ("/admin", "/admin/unknown"):
        page = client.get(path).get_data(as_text=True)
        assert "Unknown person · 2 photos" in page and 'id="cluster-c1"' in page, path
        assert f'href="/photos/{group["photo"]}"' in page
    named = client.post("/admin/unknown/c1/person", data={"name": "Kit", "csrf_token": _csrf(client),
                                                         "next": "/admin/unknown"})
    assert named.status_code == 303 and named.headers["Location"] == "/admin/unknown?reload=8"
    (job,) = _jobs(stack)
    assert job["type"] == "person.cluster_named" and job["data"]["cluster"] == "c1"
    assert "their photos are being named" in client.get(named.headers["Location"]).get_data(as_text=True)
    gone = client.post("/admin/unknown/c9/person", data={"name": "Kit", "csrf_token": _csrf(client)},
                       follow_redirects=True)
    assert "No unknown person c9 (named already, or the link is old)." in gone.get_data(as_text=True)
    assert client.get("/admin/unknown?cursor=nonsense").status_code == 400


def test_people_page_person_page_rename_merge_and_delete(client: FlaskClient, stack: Stack,
                                                         group: dict[str, str]) -> None:
    admin_client(client)
    biden = group["biden"]
    other = _enroll(client, "Joseph")
    _jobs(stack)
    people = client.get("/admin/people").get_data(as_text=True)
    assert f'href="/admin/people/{biden}"' in people and "Joseph" in people and "1 face named" in people
    page = client.get(f"/admin/people/{biden}").get_data(as_text=True)
    assert f'href="/photos/{group["photo"]}"' in page and "Not Joe Biden" in page
    assert "Merge another person into Joe Biden" in page and f'<option value="{other}">Joseph</option>' in page
    assert ">role: vp</textarea>" in page

    saved = client.post(f"/admin/people/{biden}/edit", data={"name": "Joe R. Biden", "attributes": "role: president",
                                                             "csrf_token": _csrf(client)}, follow_redirects=True)
    assert "Joe R. Biden is saved." in saved.get_data(as_text=True)
    person = client.get(f"/api/people/{biden}", headers=ADMIN).get_json()
    assert (person["name"], person["attributes"]) == ("Joe R. Biden", {"role": "president"})
    bad = client.post(f"/admin/people/{biden}/edit", data={"name": "", "csrf_token": _csrf(client)},
                      follow_redirects=True)
    assert "Name is required." in bad.get_data(as_text=True)

    merged = client.post(f"/admin/people/{biden}/merge", data={"person_id": other, "csrf_token": _csrf(client)})
    assert merged.status_code == 303 and merged.headers["Location"] == f"/admin/people/{biden}?reload=8"
    (job,) = _jobs(stack)
    assert job["type"] == "person.merged" and job["data"] == {"person_id": biden, "merged_id": other}
    itself = client.post(f"/admin/people/{biden}/merge", data={"person_id": biden, "csrf_token": _csrf(client)},
                         follow_redirects=True)
    assert "A person cannot be merged with themselves." in itself.get_data(as_text=True)
    nobody = client.post(f"/admin/people/{biden}/merge", data={"person_id": "", "csrf_token": _csrf(client)},
                         follow_redirects=True)
    assert "Send {" in nobody.get_data(as_text=True) and _jobs(stack) == []
    assert client.get("/admin/people/nobody").status_code == 404
    assert client.get(f"/admin/people/{biden}?cursor=bad").status_code == 400


def test_the_faces_api_refuses_bad_input(client: FlaskClient, app: Flask, group: dict[str, str]) -> None:
    photo = group["photo"]
    path = f"/api/photos/{photo}/faces/1/person"
    assert client.post(path, json={"name": "A"}).status_code == 401
    bad_body = client.post(path, data="not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert bad_body.status_code == 400 and "JSON object" in bad_body.get_json()["error"]
    both = client.post(path, json={"name": "A", "person_id": group["biden"]}, headers=ADMIN)
    assert both.status_code == 400 and "not both" in both.get_json()["error"]
    assert client.post("/api/photos/nope/faces/0/person", json={"name": "A"}, headers=ADMIN).status_code == 404
    over = client.post(f"/api/photos/{photo}/faces/2/person", json={"name": "A"}, headers=ADMIN)
    assert over.status_code == 404 and "it has 2 faces" in over.get_json()["error"]
    assert client.post(f"/api/photos/{photo}/faces/x/person", json={"name": "A"}, headers=ADMIN).status_code == 404
    queued = _upload(client)
    waiting = client.post(f"/api/photos/{queued}/faces/0/person", json={"name": "A"}, headers=ADMIN)
    assert waiting.status_code == 409 and "queued" in waiting.get_json()["error"]
    assert client.delete(f"/api/photos/{photo}/faces/1/person", headers=ADMIN).status_code == 409

    assert client.get("/api/faces/unknown").status_code == 401
    listed = client.get("/api/faces/unknown", headers=ADMIN).get_json()
    assert [(c["id"], c["photos"], c["faces"]) for c in listed["clusters"]] == [("c1", 2, 2)]
    for query in ("limit=0", "limit=101", "limit=x", "cursor=nonsense"):
        assert client.get(f"/api/faces/unknown?{query}", headers=ADMIN).status_code == 400, query
    assert client.post("/api/faces/unknown/c9/person", json={"name": "A"}, headers=ADMIN).status_code == 404
    assert client.patch(f"/api/people/{group['biden']}", json={}, headers=ADMIN).status_code == 400
    assert client.patch("/api/people/nobody", json={"name": "A"}, headers=ADMIN).status_code == 404
    assert client.post(f"/api/people/{group['biden']}/merge", json={}, headers=ADMIN).status_code == 400
    assert client.post(f"/api/people/{group['biden']}/merge", json={"person_id": "nobody"},
                       headers=ADMIN).status_code == 404
    assert client.get("/api/people/nobody/photos", headers=ADMIN).status_code == 404
    assert client.get(f"/api/people/{group['biden']}/photos?limit=0", headers=ADMIN).status_code == 400


# -- at scale: no list of everyone, ever --------------------------------------------------------------
def test_with_many_people_a_face_is_named_by_typing_a_name_or_an_id(client: FlaskClient, stack: Stack,
                                                                   group: dict[str, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _enroll(client, "Kit Harington")
    twin_a, twin_b = _enroll(client, "Sam Twin"), _enroll(client, "Sam Twin")
    _jobs(stack)
    monkeypatch.setattr(admin_pages, "CHOICES", 2)  # more people than a list shows
    admin_client(client)
    page = client.get(f"/photos/{group['photo']}").get_data(as_text=True)
    assert 'name="person"' in page and "<datalist" in page and 'name="person_id"' not in page
    path = f"/admin/photos/{group['photo']}/faces/1/person"

    def named(person: str) -> str:
        answer = client.post(path, data={"person": person, "csrf_token": _csrf(client)})
        assert answer.status_code == 303
        return client.get(answer.headers["Location"]).get_data(as_text=True)

    assert "Nobody enrolled is named &#39;joe biden&#39;" in named("  joe biden ")  # the exact name only
    assert _jobs(stack) == []
    named("Joe Biden")
    assert [j["data"]["person_id"] for j in _jobs(stack)] == [group["biden"]]
    assert "2 people are named &#39;Sam Twin&#39;: give the id of one" in named("Sam Twin")
    assert _jobs(stack) == []
    named(twin_b)
    assert [j["data"]["person_id"] for j in _jobs(stack)] == [twin_b]

    merged = client.post(f"/admin/people/{twin_b}/merge", data={"person": twin_a, "csrf_token": _csrf(client)})
    assert merged.status_code == 303
    assert [(j["type"], j["data"]) for j in _jobs(stack)] == [("person.merged",
                                                                {"person_id": twin_b, "merged_id": twin_a})]


def test_the_people_page_and_api_go_a_page_at_a_time(client: FlaskClient, stack: Stack,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ids = {_enroll(client, f"Person {n}") for n in range(5)}
    seen, cursor = set(), None
    for _ in range(10):
        page = client.get("/api/people", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=ADMIN).get_json()
        assert len(page["people"]) <= 2
        seen |= {p["id"] for p in page["people"]}
        if not (cursor := page["next"]):
            break
    assert seen == ids
    assert client.get("/api/people", query_string={"cursor": "x"}, headers=ADMIN).status_code == 400
    assert client.get("/api/people", query_string={"limit": 101}, headers=ADMIN).status_code == 400

    monkeypatch.setattr(admin_pages, "PEOPLE_PAGE", 3)
    admin_client(client)
    first = client.get("/admin/people").get_data(as_text=True)
    assert first.count('class="card person-card"') == 3
    more = re.search(r'href="([^"]+)" id="next-page"', first).group(1).replace("&amp;", "&")
    second = client.get(more).get_data(as_text=True)
    assert second.count('class="card person-card"') == 2 and 'id="next-page"' not in second
    assert client.get("/admin/people?cursor=forged").status_code == 400


# -- hiding an unknown person: reversible, kept as they grow, never named as a group ----------------------
def test_an_unknown_person_is_hidden_and_shown_again_from_the_pages(client: FlaskClient, app: Flask, stack: Stack,
                                                                    group: dict[str, str]) -> None:
    token = _csrf(client)
    for path in ("/admin/unknown/c1/hide", "/admin/unknown/c1/show"):
        assert client.post(path, data={"csrf_token": token}).status_code == 401, path
    assert client.get("/admin/unknown?hidden=1").status_code == 401
    admin_client(client)
    assert client.post("/admin/unknown/c1/hide").status_code == 400  # no CSRF token: refused
    page = client.get("/admin/unknown").get_data(as_text=True)
    assert 'id="hide-c1"' in page and ">Hidden (0)</a>" in page

    hidden = client.post("/admin/unknown/c1/hide", data={"csrf_token": _csrf(client), "next": "/admin/unknown"})
    assert hidden.status_code == 303 and hidden.headers["Location"] == "/admin/unknown"
    page = client.get("/admin/unknown").get_data(as_text=True)
    assert "That unknown person (2 faces) is hidden" in page
    assert 'id="cluster-c1"' not in page and ">Hidden (1)</a>" in page
    assert "Nobody unknown left to name: the rest are hidden." in page
    assert 'id="cluster-c1"' not in client.get("/admin").get_data(as_text=True)  # nor among the admin page's
    listed = client.get("/admin/unknown?hidden=1").get_data(as_text=True)
    assert 'id="cluster-c1"' in listed and 'id="show-c1"' in listed and "Name this person" not in listed
    assert "Hidden unknown people" in listed and 'name="next" value="/admin/unknown?hidden=1"' in listed

    # New faces like theirs join them hidden (the summary, counted again, keeps it).
    third = _upload(client)
    _processed(app, third, Face((10, 110, 90, 30), None, None, ENCODING, cluster="c1"))
    assert ">Hidden (1)</a>" in client.get("/admin/unknown").get_data(as_text=True)
    assert "Unknown person · 3 photos" in client.get("/admin/unknown?hidden=1").get_data(as_text=True)
    refused = client.post("/admin/unknown/c1/person", data={"name": "Kit", "csrf_token": _csrf(client)},
                          follow_redirects=True)
    assert "That unknown person is hidden: show them again, then name them." in refused.get_data(as_text=True)
    assert [job["type"] for job in _jobs(stack)] == ["photo.uploaded"]  # the third photo's; no naming

    shown = client.post("/admin/unknown/c1/show", data={"csrf_token": _csrf(client), "next": "/admin/unknown?hidden=1"},
                        follow_redirects=True).get_data(as_text=True)
    assert "is shown again among the unknown people" in shown and 'id="no-hidden"' in shown
    page = client.get("/admin/unknown").get_data(as_text=True)
    assert "Unknown person · 3 photos" in page and ">Hidden (0)</a>" in page
    gone = client.post("/admin/unknown/c9/hide", data={"csrf_token": _csrf(client)}, follow_redirects=True)
    assert "No unknown person c9 (named already, or the link is old)." in gone.get_data(as_text=True)
    evil = client.post("/admin/unknown/c1/hide", data={"csrf_token": _csrf(client), "next": "//evil.example"})
    assert evil.headers["Location"] == "/admin/unknown"  # back to this site only


def test_the_api_hides_and_shows_an_unknown_person_within_its_collection(client: FlaskClient, app: Flask,
                                                                         group: dict[str, str]) -> None:
    for action in ("hide", "show"):
        assert client.post(f"/api/faces/unknown/c1/{action}").status_code == 401
        assert client.post(f"/api/faces/unknown/c9/{action}", headers=ADMIN).status_code == 404
    for _ in range(2):  # twice: the same answer
        hidden = client.post("/api/faces/unknown/c1/hide", headers=ADMIN)
        assert hidden.status_code == 200
        assert {k: hidden.get_json()[k] for k in ("id", "hidden", "faces", "collection")} == {
            "id": "c1", "hidden": True, "faces": 2, "collection": "default"}
    assert client.get("/api/faces/unknown", headers=ADMIN).get_json()["clusters"] == []
    listed = client.get("/api/faces/unknown?hidden=true", headers=ADMIN).get_json()["clusters"]
    assert [(c["id"], c["hidden"]) for c in listed] == [("c1", True)]
    assert client.get("/api/faces/unknown?hidden=maybe", headers=ADMIN).status_code == 400
    named = client.post("/api/faces/unknown/c1/person", json={"name": "Kit"}, headers=ADMIN)
    assert named.status_code == 409 and "hidden" in named.get_json()["error"]

    # A cluster of another collection is hidden in that collection's list only.
    deps = app.extensions["photolane"]
    other = _upload(client)
    face = Face((10, 110, 90, 30), None, None, ENCODING, cluster="c7")
    deps.photos.mark_processed(other, ProcessedImage("f", "t", "r", 400, 200, (face,)))
    deps.photos.file_faces((replace(deps.photos.get(other), collection="7b"), ()))  # filed as a 7b photo's
    assert client.post("/api/faces/unknown/c7/hide", headers=ADMIN).get_json()["collection"] == "7b"
    default_hidden = client.get("/api/faces/unknown?hidden=true", headers=ADMIN).get_json()["clusters"]
    assert [c["id"] for c in default_hidden] == ["c1"]
    seven_b = client.get("/api/faces/unknown?hidden=true&collection=7b", headers=ADMIN).get_json()["clusters"]
    assert [c["id"] for c in seven_b] == ["c7"]

    shown = client.post("/api/faces/unknown/c1/show", headers=ADMIN).get_json()
    assert shown["hidden"] is False
    assert [c["id"] for c in client.get("/api/faces/unknown", headers=ADMIN).get_json()["clusters"]] == ["c1"]


# -- a person never enrolled (a roster row whose photo shows no face): removable from the people page ------
def test_a_failed_person_is_removed_from_the_people_page_after_a_confirmation(client: FlaskClient, app: Flask,
                                                                              stack: Stack) -> None:
    deps = app.extensions["photolane"]
    failed, enrolled = _enroll(client, "Empty Wall"), _enroll(client, "Joe Biden")
    _jobs(stack)
    key = deps.people.get(failed).photos[0].key
    deps.people.photo_failed(failed, key, "no face found in the photo; send a photo where the face is clear")
    admin_client(client)
    page = client.get("/admin/people").get_data(as_text=True)
    assert f'id="remove-{failed}"' in page and f'id="remove-{enrolled}"' not in page
    assert "no face found in the photo" in page

    asked = client.post(f"/admin/people/{failed}/delete", data={"csrf_token": _csrf(client), "next": "/admin/people"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Remove Empty Wall?" in text
    assert "has no face sample to be known by: no face found" in text
    assert 'href="/admin/people" id="cancel-delete-person"' in text
    assert client.get(f"/api/people/{failed}", headers=ADMIN).status_code == 200  # asked, not done
    done = client.post(f"/admin/people/{failed}/delete", data={"csrf_token": _csrf(client), "confirm": "yes",
                                                                "next": "/admin/people"})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/people"
    assert "Empty Wall is removed." in client.get("/admin/people").get_data(as_text=True)
    assert client.get(f"/api/people/{failed}", headers=ADMIN).status_code == 404
    assert client.get(f"/api/people/{enrolled}", headers=ADMIN).status_code == 200
