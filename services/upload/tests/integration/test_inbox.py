"""The local inbox (/dev/inbox) through Flask's client against a real moto server: only in local mode,
the messages the stand-in recorded, newest first, dated, escaped, their links clickable."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.photos import PhotoStore
from photolane_common.settings import CommonSettings
from photolane_notifier.text import signin_note
from photolane_upload.app import create_app
from photolane_upload.inbox import enabled
from photolane_upload.settings import UploadSettings
from photolane_upload.signin import make_token

from ..conftest import ADMIN_TOKEN, SESSION_KEY, form_token, form_upload

SENDER = "photolane@example.com"


def _app(monkeypatch: pytest.MonkeyPatch, **env: str) -> Flask:
    monkeypatch.setenv("PHOTOLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("PHOTOLANE_SESSION_KEY", SESSION_KEY)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(UploadSettings())
    app.config["TESTING"] = True
    return app


@pytest.fixture
def local(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The upload service as make run starts it: the inbox on, the stand-in on 127.0.0.1."""
    yield _app(monkeypatch, PHOTOLANE_DEV_INBOX="true")


def _email(to: str, subject: str, html: str, text: str = "") -> None:
    ses = aws.client("ses", CommonSettings())
    ses.verify_email_identity(EmailAddress=SENDER)
    body = {"Html": {"Data": html, "Charset": "UTF-8"}}
    if text:
        body["Text"] = {"Data": text, "Charset": "UTF-8"}
    ses.send_email(Source=SENDER, Destination={"ToAddresses": [to]},
                   Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body})


def _signin_email(to: str) -> str:
    """The notifier's own sign-in email (its text.py), sent to the stand-in as the notifier sends it."""
    link = f"http://127.0.0.1:5000/signin/open#{make_token(SESSION_KEY, to)}"
    note = signin_note(link, 30)
    _email(to, note.subject, note.html, note.text)
    return link


def _unique(domain: str = "example.com") -> str:
    return f"{uuid.uuid4().hex[:10]}@{domain}"


def test_without_the_setting_the_inbox_is_a_404_and_the_signin_page_does_not_mention_it(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch)  # PHOTOLANE_DEV_INBOX unset: off
    client = app.test_client()
    _signin_email(_unique())  # there is something to show: it is still not shown
    page = client.get("/dev/inbox")
    assert page.status_code == 404 and "signin/open" not in page.get_data(as_text=True)
    assert client.get("/dev/inbox", headers={"Accept": "application/json"}).status_code == 404
    asked = client.post("/signin", data={"email": _unique(), "csrf_token": form_token(client, "/signin")})
    assert asked.status_code == 200 and "/dev/inbox" not in asked.get_data(as_text=True)


def test_in_local_mode_a_second_ask_within_the_interval_points_to_the_inbox(local: Flask) -> None:
    client, email = local.test_client(), _unique()
    for _ in range(2):
        asked = client.post("/signin", data={"email": email, "csrf_token": form_token(client, "/signin")})
    again = re.search(r'id="signin-asked-again">(.*?)</p>', asked.get_data(as_text=True), re.S)
    assert again and '<a href="/dev/inbox">' in again.group(1), asked.get_data(as_text=True)


def test_the_setting_alone_is_not_local_mode_the_stand_in_must_be_on_this_machine(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for endpoint in ("", "http://standin:4566", "https://sqs.us-east-1.amazonaws.com", "http://10.0.0.8:4566"):
        settings = UploadSettings(dev_inbox=True, aws_endpoint_url=endpoint or None,
                                  session_key="k", admin_token=ADMIN_TOKEN)
        assert not enabled(settings), endpoint
    assert enabled(UploadSettings(dev_inbox=True, aws_endpoint_url=stack.standin.url, session_key="k"))


def test_a_browser_on_another_machine_gets_a_404_even_in_local_mode(local: Flask) -> None:
    _signin_email(_unique())
    other = local.test_client()
    assert other.get("/dev/inbox", environ_base={"REMOTE_ADDR": "192.168.1.20"}).status_code == 404
    assert local.test_client().get("/dev/inbox").status_code == 200


def test_the_inbox_shows_the_sms_and_emails_newest_first_dated_with_the_signin_link_clickable(
        local: Flask, stack: Stack) -> None:
    client = local.test_client()
    carol = _unique()
    photo_id = form_upload(client, email=carol).headers["Location"].rsplit("/", 1)[1]
    phone = "+14155552671"
    sns = aws.client("sns", CommonSettings())
    sms_text = f"photolane: Your photo is ready. http://127.0.0.1:5000/photos/{photo_id}"
    sns.publish(PhoneNumber=phone, Message=sms_text)
    PhotoStore().finish_delivery(photo_id, "sms", phone, None)  # what the notifier records once it sent it
    time.sleep(1.1)  # a link's token tells the second it was made: the next second, to be told apart
    link = _signin_email(carol)

    page = client.get("/dev/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "This page exists only in local mode" in html
    cards = re.findall(r'<li class="card inbox-message".*?</li>', html, re.DOTALL)
    mine = [c for c in cards if carol in c or photo_id in c]
    assert len(mine) == 2
    signin, sms = mine  # newest first: the sign-in email came after the SMS
    assert 'data-channel="email"' in signin and 'data-signin="true"' in signin
    assert f'<a href="{link}" class="signin-link">Open your gallery</a>' in signin
    assert "<h2>Your photolane sign-in link</h2>" in signin and "Works once, until" in signin
    made = re.search(r'<time datetime="([^"]+)">', signin).group(1)
    assert abs(datetime.fromisoformat(made) - datetime.now(UTC)) < timedelta(minutes=1)
    assert 'data-channel="sms"' in sms and f"to <strong>{phone}</strong>" in sms
    url = f"http://127.0.0.1:5000/photos/{photo_id}"
    assert f'<a href="{url}">{url}</a>' in sms
    sent = PhotoStore().get(photo_id).delivery("sms").sent_at
    assert f'<time datetime="{sent.isoformat(timespec="seconds")}">' in sms  # the delivery record's time

    answer = client.get("/dev/inbox", headers={"Accept": "application/json"}).get_json()
    first = next(m for m in answer["messages"] if carol in m["to"])
    assert first["channel"] == "email" and first["signin"] and first["subject"] == "Your photolane sign-in link"
    assert f"Open your gallery: {link}" in first["text"] and first["links"] == [{"text": "Open your gallery",
                                                                                  "url": link}]
    assert answer["total"] >= 2 and answer["shown"] == len(answer["messages"])

    # In local mode the sign-in page's answer points at the inbox: the same words whoever asks.
    asked = client.post("/signin", data={"email": _unique(), "csrf_token": form_token(client, "/signin")})
    assert re.search(r'In local mode, the messages sent are at <a href="/dev/inbox">/dev/inbox</a>',
                     asked.get_data(as_text=True))


def test_what_a_message_holds_is_escaped_and_only_web_links_are_links(local: Flask) -> None:
    to = _unique()
    _email(to, "<b>Subject</b> & more",
           '<p>Hi <img src=x onerror="alert(1)"> &lt;script&gt;alert(2)&lt;/script&gt;</p>'
           '<script>alert(3)</script><p><a href="javascript:alert(4)">click me</a> '
           '<a href="http://127.0.0.1:5000/gallery" onclick="alert(5)">gallery</a></p>')
    html = local.test_client().get("/dev/inbox").get_data(as_text=True)
    card = next(c for c in re.findall(r'<li class="card inbox-message".*?</li>', html, re.DOTALL) if to in c)
    assert "<h2>&lt;b&gt;Subject&lt;/b&gt; &amp; more</h2>" in card
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in card  # text that looks like a tag is shown as text
    assert "<script" not in card and "alert(3)" not in card and "onerror" not in card and "onclick" not in card
    assert "javascript:" not in card and "click me" in card  # not a link: its words only
    assert '<a href="http://127.0.0.1:5000/gallery">gallery</a>' in card
    assert "time not recorded" in card  # links to nothing that says when



def test_a_message_for_several_photos_is_dated_by_its_photos_delivery(local: Flask, stack: Stack) -> None:
    from photolane_common.batch_links import BatchLinks, new_code

    client = local.test_client()
    ids = [form_upload(client, email=_unique()).headers["Location"].rsplit("/", 1)[1] for _ in range(2)]
    phone, code = "+14155552671", new_code()
    BatchLinks().put(code, ids, int(time.time()) + 600)
    for photo_id in ids:  # what the notifier records on each member once it sent the batch's one SMS
        PhotoStore().finish_delivery(photo_id, "sms", phone, None)
    url = f"http://127.0.0.1:5000/batches/{code}"
    aws.client("sns", CommonSettings()).publish(PhoneNumber=phone, Message=f"photolane: 2 photos processed. {url}")
    html = client.get("/dev/inbox").get_data(as_text=True)
    card = next(c for c in re.findall(r'<li class="card inbox-message".*?</li>', html, re.DOTALL) if code in c)
    sent = PhotoStore().get(ids[0]).delivery("sms").sent_at
    assert f'<time datetime="{sent.isoformat(timespec="seconds")}">' in card and "time not recorded" not in card

def test_a_stand_in_that_cannot_be_read_is_a_503_that_says_so(local: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from photolane_upload import inbox

    def away(endpoint: str) -> dict:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(inbox, "read_standin", away)
    page = local.test_client().get("/dev/inbox")
    assert page.status_code == 503 and "could not be read" in page.get_data(as_text=True)
    answer = local.test_client().get("/dev/inbox", headers={"Accept": "application/json"})
    assert answer.status_code == 503 and "could not be read" in answer.get_json()["error"]
