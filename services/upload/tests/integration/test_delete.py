"""Deleting photos through Flask's client against a real moto server: who may (the uploader's session, the
email's signed-in owner, the admin) and who may not, what a deleted photo shows, the job it queues, and
"Delete all my photos" for a signed-in owner only."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_common.domain import ERASING

from ..conftest import ADMIN_TOKEN, admin_client, form_token, form_upload
from .test_pages import _gallery_ids, _messages, _open_link, _signin_messages

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _uploaded(client: FlaskClient, email: str = "owner@example.com") -> str:
    return form_upload(client, email=email).headers["Location"].rsplit("/", 1)[1]


def _signed_in(app: Flask, stack: Stack, email: str) -> FlaskClient:
    """Another browser, signed in by the link sent to ``email`` (a verified owner)."""
    browser = app.test_client()
    browser.post("/signin", data={"email": email, "csrf_token": form_token(browser, "/signin")})
    link = next(m["link"] for m in _signin_messages(stack) if m["email"] == email)
    assert _open_link(browser, link).status_code == 303
    return browser


def _deleted_jobs(stack: Stack) -> list[dict]:
    return [m["data"] for m in _messages(stack, stack.resources.jobs_queue_url)
            if m.get("type") in ("photo.deleted", "owner.photos_deleted")]


def _status(app: Flask, photo_id: str) -> str | None:
    photo = app.extensions["photolane"].photos.get(photo_id)
    return photo.status if photo else None


def test_the_uploader_the_signed_in_owner_and_the_admin_may_delete_and_nobody_else(app: Flask,
                                                                                   stack: Stack) -> None:
    uploader = app.test_client()
    by_uploader, by_owner, by_bearer, by_admin_page = (_uploaded(uploader) for _ in range(4))
    typed_same_email = app.test_client()
    _uploaded(typed_same_email)  # an upload with the same email proves nothing (unverified)
    owner = _signed_in(app, stack, "owner@example.com")
    someone_else = _signed_in(app, stack, "other@example.com")
    admin_page = admin_client(app.test_client())

    refused = {
        "anonymous": app.test_client().delete(f"/api/photos/{by_uploader}"),
        "same email, unverified": typed_same_email.delete(f"/api/photos/{by_uploader}"),
        "another signed-in owner": someone_else.delete(f"/api/photos/{by_uploader}"),
        "a wrong token": app.test_client().delete(f"/api/photos/{by_uploader}",
                                                  headers={"Authorization": "Bearer nope"}),
    }
    assert {who: answer.status_code for who, answer in refused.items()} == dict.fromkeys(refused, 403)
    assert all("uploader" in answer.get_json()["error"] for answer in refused.values())
    assert _status(app, by_uploader) == "queued" and _deleted_jobs(stack) == []

    accepted = {
        by_uploader: uploader.delete(f"/api/photos/{by_uploader}"),
        by_owner: owner.delete(f"/api/photos/{by_owner}"),  # uploaded from another browser
        by_bearer: app.test_client().delete(f"/api/photos/{by_bearer}", headers=BEARER),
        by_admin_page: admin_page.delete(f"/api/photos/{by_admin_page}"),
    }
    for photo_id, answer in accepted.items():
        assert answer.status_code == 202 and answer.get_json() == {"id": photo_id, "status": "erasing"}
        assert _status(app, photo_id) == ERASING
    assert sorted(j["photo_id"] for j in _deleted_jobs(stack)) == sorted(accepted)
    assert app.test_client().delete("/api/photos/no-such-photo", headers=BEARER).status_code == 404


def test_a_deleted_photo_is_shown_nowhere_and_deleting_it_again_is_idempotent(app: Flask, stack: Stack) -> None:
    uploader = app.test_client()
    photo_id = _uploaded(uploader)
    kept = _uploaded(uploader)
    assert uploader.delete(f"/api/photos/{photo_id}").status_code == 202

    assert uploader.get(f"/api/photos/{photo_id}").status_code == 404
    page = uploader.get(f"/photos/{photo_id}")
    assert page.status_code == 404 and "Photo deleted" in page.get_data(as_text=True)
    assert _gallery_ids(uploader) == [kept]  # the cached gallery, written through
    export = app.test_client().get("/api/admin/export", headers=BEARER).get_data(as_text=True)
    assert photo_id not in export and kept in export

    again = uploader.delete(f"/api/photos/{photo_id}")  # while it is erased: the job again
    assert again.status_code == 202 and [j["photo_id"] for j in _deleted_jobs(stack)] == [photo_id, photo_id]
    assert app.test_client().delete(f"/api/photos/{photo_id}").status_code == 404  # gone, to anyone else
    app.extensions["photolane"].photos.delete(photo_id)  # what the processor does last
    assert uploader.delete(f"/api/photos/{photo_id}").status_code == 404


def test_the_photo_page_and_the_gallery_delete_with_a_ticked_box(app: Flask, stack: Stack) -> None:
    uploader = app.test_client()
    first, second = _uploaded(uploader), _uploaded(uploader)
    mine = uploader.get(f"/photos/{first}").get_data(as_text=True)
    assert 'id="delete-photo"' in mine and 'name="confirm"' in mine
    assert 'id="delete-photo"' not in app.test_client().get(f"/photos/{first}").get_data(as_text=True)
    gallery = uploader.get("/gallery").get_data(as_text=True)
    assert gallery.count('class="delete-card"') == 2
    assert 'id="delete-all"' not in gallery  # an unverified session: not every photo of the email is its

    token = form_token(uploader, f"/photos/{first}")
    unticked = uploader.post(f"/photos/{first}/delete", data={"csrf_token": token})
    assert unticked.status_code == 303 and unticked.headers["Location"].endswith(f"/photos/{first}")
    assert _status(app, first) == "queued"
    assert uploader.post(f"/photos/{first}/delete", data={"confirm": "1"}).status_code == 400  # no CSRF token
    stranger = app.test_client()
    refused = stranger.post(f"/photos/{first}/delete", data={"confirm": "1", "csrf_token": form_token(stranger)})
    assert refused.status_code == 403 and _status(app, first) == "queued"

    done = uploader.post(f"/photos/{first}/delete", data={"confirm": "1", "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/gallery")
    assert _status(app, first) == ERASING and _gallery_ids(uploader) == [second]
    from_gallery = uploader.post(f"/photos/{second}/delete",
                                 data={"confirm": "1", "from": "gallery", "csrf_token": token})
    assert from_gallery.status_code == 303 and _gallery_ids(uploader) == []
    assert [j["photo_id"] for j in _deleted_jobs(stack)] == [first, second]
    cross_site = uploader.delete(f"/api/photos/{second}", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403  # a state change from another site's page: refused first


def test_delete_all_is_the_signed_in_owners_and_queues_one_owner_job(app: Flask, stack: Stack) -> None:
    uploader = app.test_client()
    photos = [_uploaded(uploader, "Dana@Example.com") for _ in range(2)]
    token = form_token(uploader, "/gallery")
    refused = uploader.post("/gallery/delete", data={"confirm": "1", "csrf_token": token})
    assert refused.status_code == 403 and "signed in" in refused.get_data(as_text=True)

    owner = _signed_in(app, stack, "dana@example.com")
    page = owner.get("/gallery").get_data(as_text=True)
    assert 'id="delete-all"' in page and sorted(_gallery_ids(owner)) == sorted(photos)
    token = form_token(owner, "/gallery")
    unticked = owner.post("/gallery/delete", data={"csrf_token": token})
    assert unticked.status_code == 303 and _deleted_jobs(stack) == []
    done = owner.post("/gallery/delete", data={"confirm": "1", "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/gallery")
    jobs = _deleted_jobs(stack)
    assert [sorted(j) for j in jobs] == [["before", "owner"]] and jobs[0]["owner"] == "dana@example.com"
    shown = owner.get("/gallery").get_data(as_text=True)
    assert _gallery_ids(owner) == [] and re.search(r"All your photos are deleted", shown)
