"""The admin's collections page and the listings by collection, through Flask's client on a real moto server."""

import io
import re

from flask.testing import FlaskClient

from photolane_common.collection import CollectionStore
from photolane_common.people import PeopleStore

from ..conftest import admin_client, form_token, image_bytes


def _post(client: FlaskClient, path: str, **form: str):
    return client.post(path, data={"csrf_token": form_token(client, "/admin/collections"), **form})


def test_the_collections_page_needs_the_admin_and_makes_collections_and_links(client: FlaskClient) -> None:
    assert client.get("/admin/collections").status_code == 401
    assert client.post("/admin/collections", data={"id": "7b", "name": "x"}).status_code in (400, 401)
    admin_client(client)
    assert "No collection yet" in client.get("/admin/collections").get_data(as_text=True)
    made = _post(client, "/admin/collections", id="7B", name="Class 7B", attributes="school: Hill School")
    assert made.status_code == 303
    page = client.get("/admin/collections").get_data(as_text=True)
    assert "Class 7B is made" in page and 'id="collection-7b"' in page and "Hill School" in page
    again = _post(client, "/admin/collections", id="7b", name="Other")
    assert "exists already" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert "1 to 40 letters" in client.get(_post(client, "/admin/collections", id="a b", name="x")
                                           .headers["Location"]).get_data(as_text=True)

    _post(client, "/admin/collections/7b/links", label="Ms Patel", days="30")
    page = client.get("/admin/collections").get_data(as_text=True)
    url = re.search(r'value="(http://[^"]+/u/[A-Za-z0-9_-]{32})"', page).group(1)
    assert "Ms Patel" in page and "shown only once" in page
    assert url not in client.get("/admin/collections").get_data(as_text=True)  # once
    code = url.rsplit("/", 1)[1]
    assert "Upload a photo to Class 7B" in client.get(f"/u/{code}").get_data(as_text=True)
    assert "/admin/export?format=csv&amp;collection=7b" in page  # its photos and results, as a CSV
    parent = client.application.test_client()  # a parent with the link, no admin
    sent = parent.post("/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg"), "link": code,
                                        "csrf_token": form_token(parent, f"/u/{code}")},
                       content_type="multipart/form-data")
    assert sent.status_code == 303, sent.get_data(as_text=True)
    shown = parent.get(sent.headers["Location"]).get_data(as_text=True)
    assert f'href="/u/{code}" id="upload-again"' in shown  # "Upload another photo" goes back to the link
    assert 'href="/" id="upload-again"' in client.application.test_client().get(
        sent.headers["Location"]).get_data(as_text=True)  # a browser that did not come by it: the upload page
    link = CollectionStore().get("7b").links[0]
    assert "days" not in _post(client, "/admin/collections/7b/links", days="0").headers["Location"]
    assert len(CollectionStore().get("7b").links) == 1  # days 0 refused
    _post(client, f"/admin/collections/7b/links/{link.id}/revoke")
    assert CollectionStore().get("7b").links == () and client.get(f"/u/{code}").status_code == 404


def test_people_and_unknown_people_are_listed_by_collection_and_a_deletion_is_confirmed(client: FlaskClient,
                                                                                         faces_dir) -> None:
    admin_client(client)
    CollectionStore().create("7b", "Class 7B", {})
    PeopleStore().create("in-7b", "Ada Seven", {}, "people/in-7b/1.jpg", "7b")
    PeopleStore().create("in-default", "Bo Default", {}, "people/in-default/1.jpg")
    only = client.get("/admin/people?collection=7b").get_data(as_text=True)
    assert "People of Class 7B" in only and "Ada Seven" in only and "Bo Default" not in only
    assert "Bo Default" in client.get("/admin/people?collection=default").get_data(as_text=True)
    assert client.get("/admin/people?collection=nope").status_code == 404
    assert "Unknown people in Class 7B" in client.get("/admin/unknown?collection=7b").get_data(as_text=True)
    enrolled = client.post("/admin/people", data={
        "csrf_token": form_token(client, "/admin"), "name": "Cy", "collection": "7b",
        "photo": (io.BytesIO((faces_dir / "obama_1.jpg").read_bytes()), "f.jpg")}, content_type="multipart/form-data")
    assert enrolled.status_code == 303
    assert "Cy is being enrolled into 7b" in client.get("/admin").get_data(as_text=True)
    assert {p.name for p in PeopleStore().every_of("7b")} == {"Ada Seven", "Cy"}

    unticked = _post(client, "/admin/collections/7b/delete")
    assert "Tick the box" in client.get(unticked.headers["Location"]).get_data(as_text=True)
    assert CollectionStore().get("7b").status == "active"
    _post(client, "/admin/collections/7b/delete", confirm="1")
    assert CollectionStore().get("7b").status == "deleting"
    assert "being deleted" in client.get("/admin/collections").get_data(as_text=True)
    refused = client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "a.jpg"), "collection": "7b"},
                          content_type="multipart/form-data", headers={"Authorization": "Bearer test-admin-token"})
    assert refused.status_code == 409
