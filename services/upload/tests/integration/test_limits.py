"""Abuse limits through Flask's client against a real moto server: counters in the settings table,
shared by every app (worker) built on the same tables; 429 with Retry-After; the client address
taken behind exactly the trusted proxies."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from photolane.testing import Stack
from photolane_upload.app import create_app
from photolane_upload.settings import UploadSettings

from ..conftest import ADMIN_TOKEN, SESSION_KEY, form_token, form_upload, image_bytes


def _app(monkeypatch: pytest.MonkeyPatch, **settings: object) -> Flask:
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    app = create_app(UploadSettings(max_upload_mb=1, **settings))
    app.config["TESTING"] = True
    return app


def _post(client: FlaskClient, **headers: str) -> object:
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "x.jpg")},
                       content_type="multipart/form-data", headers=headers)


def test_uploads_per_client_are_counted_across_workers_and_answered_429(stack: Stack,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = _app(monkeypatch, uploads_per_client_hour=3), _app(monkeypatch, uploads_per_client_hour=3)
    answers = [_post(app.test_client()).status_code for app in (one, two, one)]
    assert answers == [202, 202, 202]
    refused = _post(two.test_client())  # the other worker knows the count
    assert refused.status_code == 429
    assert "too many uploads from this address: the limit is 3 uploads an hour" in refused.get_json()["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert _post(one.test_client(), Authorization=f"Bearer {ADMIN_TOKEN}").status_code == 202  # admin: no limit
    form = form_upload(one.test_client())
    assert form.status_code == 429 and "Retry-After" in form.headers
    assert "Too many uploads from this address" in form.get_data(as_text=True)


def test_the_client_is_the_address_the_trusted_proxy_saw_not_one_it_claims(stack: Stack,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    behind_alb = _app(monkeypatch, uploads_per_client_hour=1, proxy_hops=1).test_client()
    assert _post(behind_alb, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 202
    assert _post(behind_alb, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert _post(behind_alb, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 202  # another client
    # A client writing its own X-Forwarded-For: the proxy appends the real address, which counts.
    assert _post(behind_alb, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}).status_code == 429
    # Without trusted proxies the header is ignored altogether.
    direct = _app(monkeypatch, uploads_per_client_hour=1).test_client()
    assert _post(direct, **{"X-Forwarded-For": "192.0.2.1"}).status_code == 202
    assert _post(direct, **{"X-Forwarded-For": "192.0.2.2"}).status_code == 429


def test_an_ipv6_client_is_counted_by_its_slash_64(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """One subscriber holds a whole /64: a new address of it is not a new client."""
    behind_alb = _app(monkeypatch, uploads_per_client_hour=2, proxy_hops=1).test_client()
    assert _post(behind_alb, **{"X-Forwarded-For": "2001:db8:7:7::1"}).status_code == 202
    assert _post(behind_alb, **{"X-Forwarded-For": "2001:db8:7:7:dead:beef:0:2"}).status_code == 202
    assert _post(behind_alb, **{"X-Forwarded-For": "2001:db8:7:7:1234::9"}).status_code == 429
    assert _post(behind_alb, **{"X-Forwarded-For": "2001:db8:7:8::1"}).status_code == 202  # the next /64


def test_uploads_naming_one_email_are_limited_a_day_from_any_address(stack: Stack,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood sent with somebody's email cannot bury their gallery: the uploader is told when to retry."""
    client = _app(monkeypatch, uploads_per_email_day=2, proxy_hops=1).test_client()

    def send(email: str, address: str, **headers: str) -> object:
        return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "x.jpg"), "email": email},
                           content_type="multipart/form-data", headers={"X-Forwarded-For": address, **headers})

    assert [send("victim@example.com", f"203.0.113.{i}").status_code for i in (1, 2)] == [202, 202]
    refused = send("Victim@Example.com", "198.51.100.9")  # the same owner, from another address
    assert refused.status_code == 429
    assert "too many uploads for this email: the limit is 2 uploads a day" in refused.get_json()["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86400
    assert send("someone.else@example.com", "198.51.100.9").status_code == 202
    assert send("victim@example.com", "198.51.100.9", Authorization=f"Bearer {ADMIN_TOKEN}").status_code == 202
    form = form_upload(client, email="victim@example.com")
    assert form.status_code == 429 and "Retry-After" in form.headers
    assert "Too many uploads for this email" in form.get_data(as_text=True)


def test_signin_requests_are_limited_per_email_and_per_client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, signins_per_email_hour=2, signins_per_client_hour=4, proxy_hops=1)

    def ask(email: str, address: str) -> object:
        client = app.test_client()
        headers = {"X-Forwarded-For": address}
        token = form_token(client, "/signin")
        return client.post("/signin", data={"email": email, "csrf_token": token}, headers=headers)

    assert [ask("f@example.com", f"203.0.113.{i}").status_code for i in range(2)] == [200, 200]
    per_email = ask("F@example.com", "203.0.113.9")  # a third for that email, from anywhere
    assert per_email.status_code == 429 and "for this email" in per_email.get_data(as_text=True)
    assert [ask(f"g{i}@example.com", "198.51.100.4").status_code for i in range(4)] == [200] * 4
    per_client = ask("h@example.com", "198.51.100.4")
    assert per_client.status_code == 429 and "from this address" in per_client.get_data(as_text=True)
    assert int(per_client.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("phone", "why"), [
    ("+19005550123", "premium-rate"),
    ("+448712345678", "premium-rate"),
    ("+2693456789", "not sent to numbers of KM"),
    ("+14155550123", "555-0100 to 555-0199, the numbers reserved for films and examples"),  # fictitious (NANP)
    ("+16135550199", "555-0100 to 555-0199"),  # Canada's too
    ("+14155552671", None),
])
def test_sms_go_only_to_mobile_numbers_of_allowed_countries(client: FlaskClient, phone: str, why: str | None) -> None:
    answer = _post_with(client, phone=phone)
    form = form_upload(client, phone=phone)  # the page's form says the same
    if why is None:
        assert answer.status_code == 202 and form.status_code == 303
    else:
        assert answer.status_code == 400 and why in answer.get_json()["error"]
        assert form.status_code == 400 and why in form.get_data(as_text=True)


def test_numbers_that_may_be_landlines_are_few_per_client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """US and Canadian numbers do not say mobile or landline: a client names few different ones an hour."""
    client = _app(monkeypatch, unknown_line_numbers_per_client_hour=2, proxy_hops=1).test_client()

    def send(phone: str, address: str = "203.0.113.5", **headers: str) -> object:
        return _post_with(client, phone=phone, headers={"X-Forwarded-For": address, **headers})

    assert [send(f"+1415555267{n}").status_code for n in (1, 2, 1, 2, 1)] == [202] * 5  # the same ones: free
    refused = send("+16135552673")  # a third different one
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
    assert ("too many different phone numbers that may be landlines from this address (a US or Canadian number "
            "does not say whether it is a mobile): the limit is 2") in refused.get_json()["error"]
    assert "or upload without a phone" in refused.get_json()["error"]
    assert send("+16135552673").status_code == 429  # refused again, not counted as seen
    assert send("+447400123456").status_code == 202  # a UK mobile says what it is: not this limit's
    assert send("+14155552671").status_code == 202  # one counted already
    assert _post_with(client, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 202  # no phone
    assert send("+16135552673", "198.51.100.7").status_code == 202  # another client
    assert send("+16135552674", Authorization=f"Bearer {ADMIN_TOKEN}").status_code == 202  # the admin: not limited
    form = client.post("/photos", data={"file": (io.BytesIO(image_bytes()), "me.jpg"), "phone": "+16135552675",
                                        "csrf_token": form_token(client)},
                       content_type="multipart/form-data", headers={"X-Forwarded-For": "203.0.113.5"})
    assert form.status_code == 429 and "Retry-After" in form.headers
    assert "Too many different phone numbers that may be landlines" in form.get_data(as_text=True)


def test_the_country_list_is_a_setting(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOLANE_SMS_COUNTRIES", "GB")
    client = _app(monkeypatch).test_client()
    refused = _post_with(client, phone="+14155552671")
    assert refused.status_code == 400 and "allowed countries: GB" in refused.get_json()["error"]


def _post_with(client: FlaskClient, headers: dict[str, str] | None = None, **fields: str) -> object:
    return client.post("/api/photos", data={"file": (io.BytesIO(image_bytes()), "x.jpg"), **fields},
                       content_type="multipart/form-data", headers=headers or {})


def test_admin_routes_take_only_the_bearer_scheme(client: FlaskClient) -> None:
    assert client.get("/api/people", headers={"Authorization": ADMIN_TOKEN}).status_code == 401
    assert client.get("/api/people", headers={"Authorization": f"Token {ADMIN_TOKEN}"}).status_code == 401
    assert client.get("/api/people", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}).status_code == 401
    assert client.get("/api/people", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200


def test_behind_https_cookies_are_secure_and_hsts_is_sent(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _app(monkeypatch, public_url="https://photos.example", proxy_hops=1).test_client()
    sent = form_upload(client, email="a@example.com")
    assert "Secure" in sent.headers["Set-Cookie"]
    assert sent.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = _app(monkeypatch).test_client().get("/")
    assert "Strict-Transport-Security" not in plain.headers
    behind_tls = _app(monkeypatch, proxy_hops=1).test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in behind_tls.headers  # the proxy says the client used HTTPS


def test_admin_sign_in_attempts_are_limited(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, admin_logins_per_client_hour=2)
    client = app.test_client()
    answers = [client.post("/admin/login", data={"token": "guess", "csrf_token": form_token(client, "/admin")})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert "Retry-After" in answers[2].headers
