"""The OpenAPI description (/api/openapi.json, /api/docs): valid, complete, and true of real answers."""

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from photolane_common.domain import Face, ProcessedImage
from photolane_upload.openapi import openapi_document, undescribed

from ..conftest import ADMIN_TOKEN, image_bytes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ENCODING = bytes(128 * 4)


@pytest.fixture
def doc(app: Flask) -> dict[str, Any]:
    return openapi_document(app)


def conforms(doc: dict[str, Any], answer: TestResponse, path: str, method: str) -> Any:
    """The answer's status is documented for the operation and its JSON body matches that schema."""
    operation = doc["paths"][path][method.lower()]
    status = str(answer.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} undocumented: {answer.get_data(as_text=True)}"
    content = operation["responses"][status].get("content", {})
    kind = answer.mimetype
    assert kind in content, f"{method} {path} {status}: {kind} undocumented"
    if kind != "application/json":
        return answer.get_data(as_text=True)
    body = answer.get_json()
    schema = {**content[kind]["schema"], "components": doc["components"]}
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in
              Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(body)]
    assert not errors, f"{method} {path} {status}: {errors}\n{body}"
    return body


def test_the_document_is_valid_openapi_3_1_and_describes_every_api_route(app: Flask, doc: dict[str, Any]) -> None:
    validate(doc)  # openapi-spec-validator: OpenAPI 3.1 (JSON Schema 2020-12)
    assert doc["openapi"].startswith("3.1")
    assert undescribed(app) == []
    served = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path.replace("{", "<").replace("}", ">"), method.upper())
                  for path, methods in doc["paths"].items() for method in methods}
    assert served <= documented and len(documented) == len(served) + 1  # and /healthz
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            assert "503" in operation["responses"], (method, path)
            if path.startswith("/api/admin") or path.startswith("/api/people"):
                assert operation["security"] == [{"admin": []}] and "401" in operation["responses"]


def test_a_route_without_a_description_is_found(app: Flask) -> None:
    app.add_url_rule("/api/secret", "api.secret", lambda: "")
    assert undescribed(app) == ["['GET'] /api/secret"]


def test_the_service_serves_the_document_and_a_page_made_from_it(client: FlaskClient, app: Flask) -> None:
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200 and answer.get_json() == openapi_document(app)
    assert "max-age" in answer.headers["Cache-Control"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "photolane.css" in text and "/api/openapi.json" in text and "cdn" not in text.lower()
    for path in answer.get_json()["paths"]:
        assert path in text
    assert 'id="schema-PhotoView"' in text and "<code>crop_url</code>" in text


def test_real_answers_match_the_description(client: FlaskClient, app: Flask, doc: dict[str, Any]) -> None:
    deps = app.extensions["photolane"]
    check = lambda answer, path, method: conforms(doc, answer, path, method)  # noqa: E731

    def form(path: str, headers: dict[str, str] | None = None, **fields: Any) -> TestResponse:
        return client.post(path, data=fields, content_type="multipart/form-data", headers=headers or {})

    check(client.get("/healthz"), "/healthz", "GET")
    # a photo, accepted, processed with a named face, an unknown one and a notification
    person = check(form("/api/people", ADMIN, name="Ada", attributes='{"role": "vp", "year": 2, "x": null}',
                        photo=(io.BytesIO(image_bytes()), "a.jpg")), "/api/people", "POST")
    photo = check(form("/api/photos", file=(io.BytesIO(image_bytes()), "a.jpg"), email="me@example.com",
                       phone=""), "/api/photos", "POST")
    deps.photos.mark_processed(photo["id"], ProcessedImage("f", "t", "r", 64, 48, (
        Face((1, 2, 3, 0), person["id"], 0.42, ENCODING, crop="c0"),
        Face((4, 5, 6, 3), None, None, ENCODING, cluster="cl-1", crop="c1"))))
    deps.photos.file_named(person["id"], {photo["id"]: [0]})
    deps.photos.claim_delivery(photo["id"], "email", "me@example.com")
    view = check(client.get(f"/api/photos/{photo['id']}"), "/api/photos/{photo_id}", "GET")
    assert view["faces"][0]["person"]["id"] == person["id"] and view["notifications"]
    check(client.get(f"/api/photos/{photo['id']}", headers=ADMIN), "/api/photos/{photo_id}", "GET")
    check(client.get("/api/photos/nope"), "/api/photos/{photo_id}", "GET")
    # people
    check(client.get("/api/people", headers=ADMIN), "/api/people", "GET")
    check(client.get("/api/people?limit=0", headers=ADMIN), "/api/people", "GET")
    check(client.get("/api/people"), "/api/people", "GET")  # 401
    check(client.get(f"/api/people/{person['id']}", headers=ADMIN), "/api/people/{person_id}", "GET")
    check(client.patch(f"/api/people/{person['id']}", json={"name": "Ada L", "attributes": {"a": 1.5}},
                       headers=ADMIN), "/api/people/{person_id}", "PATCH")
    check(client.patch(f"/api/people/{person['id']}", json={}, headers=ADMIN), "/api/people/{person_id}", "PATCH")
    faces = check(client.get(f"/api/people/{person['id']}/photos", headers=ADMIN),
                  "/api/people/{person_id}/photos", "GET")
    assert [f["photo_id"] for f in faces["faces"]] == [photo["id"]]
    check(form(f"/api/people/{person['id']}/photos", ADMIN, photo=(io.BytesIO(image_bytes()), "b.jpg")),
          "/api/people/{person_id}/photos", "POST")
    # faces
    check(client.get("/api/faces/unknown", headers=ADMIN), "/api/faces/unknown", "GET")
    named = check(client.post(f"/api/photos/{photo['id']}/faces/1/person", json={"name": "Bo"}, headers=ADMIN),
                  "/api/photos/{photo_id}/faces/{index}/person", "POST")
    check(client.post(f"/api/photos/{photo['id']}/faces/9/person", json={"name": "Bo"}, headers=ADMIN),
          "/api/photos/{photo_id}/faces/{index}/person", "POST")
    check(client.delete(f"/api/photos/{photo['id']}/faces/0/person", headers=ADMIN),
          "/api/photos/{photo_id}/faces/{index}/person", "DELETE")
    check(client.post("/api/faces/unknown/gone/person", json={"person_id": person["id"]}, headers=ADMIN),
          "/api/faces/unknown/{cluster}/person", "POST")
    check(client.post(f"/api/people/{person['id']}/merge", json={"person_id": named["id"]}, headers=ADMIN),
          "/api/people/{person_id}/merge", "POST")
    # admin
    check(client.get("/api/admin/uploads", headers=ADMIN), "/api/admin/uploads", "GET")
    check(client.put("/api/admin/uploads", json={"blocked": "yes"}, headers=ADMIN), "/api/admin/uploads", "PUT")
    check(client.get("/api/admin/queues", headers=ADMIN), "/api/admin/queues", "GET")
    check(client.post("/api/admin/queues/nope/redrive", headers=ADMIN), "/api/admin/queues/{name}/redrive", "POST")
    check(client.post("/api/admin/queues/jobs-dlq/purge", json={"confirm": True}, headers=ADMIN),
          "/api/admin/queues/{name}/purge", "POST")
    exported = check(client.get("/api/admin/export", headers=ADMIN), "/api/admin/export", "GET")
    assert {p["id"] for p in exported["photos"]} == {photo["id"]}
    assert check(client.get("/api/admin/export?format=csv", headers=ADMIN), "/api/admin/export", "GET")
    check(client.delete(f"/api/people/{named['id']}", headers=ADMIN), "/api/people/{person_id}", "DELETE")
    check(client.delete("/api/people/nobody", headers=ADMIN), "/api/people/{person_id}", "DELETE")
    # deleting a photo: refused to a stranger, accepted for the admin, then gone
    check(client.delete(f"/api/photos/{photo['id']}"), "/api/photos/{photo_id}", "DELETE")  # 403
    check(client.delete(f"/api/photos/{photo['id']}", headers=ADMIN), "/api/photos/{photo_id}", "DELETE")  # 202
    check(client.delete(f"/api/photos/{photo['id']}"), "/api/photos/{photo_id}", "DELETE")  # 404: being erased
    check(client.put("/api/admin/uploads", json={"blocked": True}, headers=ADMIN), "/api/admin/uploads", "PUT")
    check(form("/api/photos", file=(io.BytesIO(image_bytes()), "a.jpg")), "/api/photos", "POST")  # 503 blocked


def test_a_name_that_is_not_text_is_refused_not_a_crash(client: FlaskClient, doc: dict[str, Any]) -> None:
    """Found by Schemathesis: PATCH with ``"name": [null]`` answered 500 (faces.edit_person)."""
    person = client.post("/api/people", data={"name": "Ada", "photo": (io.BytesIO(image_bytes()), "a.jpg")},
                         content_type="multipart/form-data", headers=ADMIN).get_json()
    for name in ([None], 5, {"x": 1}):
        answer = client.patch(f"/api/people/{person['id']}", json={"name": name}, headers=ADMIN)
        assert answer.status_code == 400, (name, answer.status_code)
        conforms(doc, answer, "/api/people/{person_id}", "PATCH")
