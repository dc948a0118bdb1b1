"""JSON bodies from outside: nested deep or too large, they are a 400 with a sentence, never a 500."""

import pytest
from flask.testing import FlaskClient

from ..conftest import ADMIN_TOKEN, admin_client

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEEP = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
NESTED = '{"name": ' + "[" * 20 + "]" * 20 + "}"  # parses, but deeper than any body a route takes
LARGE = '{"name": "' + "x" * 70_000 + '"}'


@pytest.mark.parametrize("body", [DEEP, NESTED, LARGE])
@pytest.mark.parametrize(("method", "route"), [
    ("POST", "/api/collections"), ("PUT", "/api/admin/uploads"), ("POST", "/api/people/nobody/merge"),
    ("POST", "/api/faces/unknown/c1/person"), ("POST", "/api/photos/p1/faces/0/person"),
    ("POST", "/api/collections/nope/links")])
def test_a_json_body_out_of_bounds_is_a_400(client: FlaskClient, method: str, route: str, body: str) -> None:
    answer = client.open(route, method=method, data=body, content_type="application/json", headers=ADMIN)
    assert answer.status_code in (400, 404), (answer.status_code, answer.get_data(as_text=True)[:200])
    assert answer.is_json and answer.get_json()["error"]


def test_a_json_body_within_bounds_still_works(client: FlaskClient) -> None:
    made = client.post("/api/collections", json={"id": "7b", "name": "Class 7B", "attributes": {"a": "b"}},
                       headers=ADMIN)
    assert made.status_code == 201


FORGED = "eyJncm91cCI6IHsiUyI6ICJ4In19"  # {"group": {"S": "x"}}: well formed, not made here


@pytest.mark.parametrize("route", ["/api/people", "/api/people?collection=default", "/api/faces/unknown",
                                   "/api/collections", "/api/people/p1/photos", "/admin/people",
                                   "/admin/unknown", "/admin/collections"])
@pytest.mark.parametrize("cursor", [FORGED, FORGED + ".AAAAAAAAAAAAAAAAAAAAAAAA", "%%%", "x" * 5000])
def test_a_cursor_not_signed_here_is_a_400(client: FlaskClient, route: str, cursor: str) -> None:
    joined = "&" if "?" in route else "?"
    if route.startswith("/admin"):  # the pages: the admin's session, not the token
        admin_client(client)
        page = client.get(f"{route}{joined}cursor={cursor}")
        said = page.get_data(as_text=True)
        assert page.status_code == 400 and ("first page" in said or "the page before" in said)
        return
    answer = client.get(f"{route}{joined}cursor={cursor}", headers=ADMIN)
    assert answer.status_code in (400, 404), (answer.status_code, answer.get_data(as_text=True)[:200])
    assert "cursor" in answer.get_json()["error"] or answer.status_code == 404


def test_a_signed_cursor_pages_on(client: FlaskClient) -> None:
    for n in range(3):
        client.post("/api/collections", json={"id": f"c{n}", "name": f"C{n}"}, headers=ADMIN)
    first = client.get("/api/collections?limit=2", headers=ADMIN).get_json()
    assert "." in first["next"]  # signed
    rest = client.get(f"/api/collections?limit=2&cursor={first['next']}", headers=ADMIN).get_json()
    assert len(first["collections"]) + len(rest["collections"]) == 3
    tampered = first["next"][:-2] + ("AA" if not first["next"].endswith("AA") else "BB")
    assert client.get(f"/api/collections?cursor={tampered}", headers=ADMIN).status_code == 400
