"""Pages that cannot be shown answer a styled page that explains itself, with the real status;
under /api/ the answer stays JSON."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


def _page(answer) -> str:  # type: ignore[no-untyped-def]
    assert answer.mimetype == "text/html", answer.mimetype
    return answer.get_data(as_text=True)


def test_an_unknown_photo_link_explains_itself(client: FlaskClient) -> None:
    for path in ("/photos/unknown", "/photos/no-such-photo", "/photos/" + "x" * 100):
        answer = client.get(path)
        assert answer.status_code == 404, path
        page = _page(answer)
        assert "Photo not found" in page and "old or mistyped" in page
        assert 'href="/gallery"' in page and 'href="/"' in page  # where to go instead
        assert "/static/photolane.css" in page  # the site's own look, header included
        assert 'class="site-header"' in page


def test_an_unknown_page_explains_itself(client: FlaskClient) -> None:
    answer = client.get("/nope")
    assert answer.status_code == 404
    page = _page(answer)
    assert "Page not found" in page and "old, or mistyped" in page and 'href="/gallery"' in page


def test_a_wrong_method_on_a_page_is_a_styled_405(client: FlaskClient) -> None:
    answer = client.get("/logout")
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    assert "does not work that way" in _page(answer)


def test_the_api_still_answers_json(client: FlaskClient) -> None:
    for path in ("/api/nope", "/api/photos/unknown"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.is_json and "error" in answer.get_json(), path
    wrong = client.delete("/api/photos")
    assert wrong.status_code == 405 and wrong.is_json


def test_a_bug_is_a_styled_500_on_pages_and_json_under_the_api(app: Flask) -> None:
    def boom() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/boom", "api_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and "Something went wrong" in _page(page) and "a bug" not in _page(page)
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.is_json
