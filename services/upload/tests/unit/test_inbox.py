"""The local inbox's reading of what the stand-in recorded: pure (no stand-in, no Flask)."""

from __future__ import annotations

import pytest

from photolane_upload.inbox import Part, body_paragraphs, enabled, linked, messages_of, text_paragraphs
from photolane_upload.settings import UploadSettings

SIGNIN_HTML = (  # what the notifier's signin_note() sends as the HTML part
    "<p>Hello,</p><p>Here is your link to open your photolane gallery. It works for 30 minutes.</p>"
    '<p><a href="http://127.0.0.1:5000/signin/open#eyJ.abc-_">Open your gallery</a></p>'
    "<p>If you did not ask for it, ignore this message.</p><p>— photolane</p>"
)


def test_an_html_body_becomes_paragraphs_of_text_and_links() -> None:
    assert body_paragraphs(SIGNIN_HTML) == [
        [Part("Hello,")],
        [Part("Here is your link to open your photolane gallery. It works for 30 minutes.")],
        [Part("Open your gallery", "http://127.0.0.1:5000/signin/open#eyJ.abc-_")],
        [Part("If you did not ask for it, ignore this message.")],
        [Part("— photolane")],
    ]


def test_html_entities_are_text_and_white_space_is_htmls() -> None:
    body = "<p>  a &amp; b\n  &lt;i&gt;c&lt;/i&gt;  <b>bold</b>\n</p><br><p></p>"
    assert body_paragraphs(body) == [[Part("a & b <i>c</i> bold")]]


def test_only_http_and_https_links_are_links_and_hidden_parts_are_dropped() -> None:
    body = ('<html><head><title>t</title><style>p{}</style></head><body><p>'
            '<a href="javascript:alert(1)">click</a> <a href="mailto:x@example.com">mail</a> '
            '<a href="https://example.com/x">site</a><a href="http://e.com/y"></a></p><script>bad()</script>')
    assert body_paragraphs(body) == [[Part("click mail "), Part("site", "https://example.com/x"),
                                      Part("http://e.com/y", "http://e.com/y")]]


def test_plain_text_keeps_its_paragraphs_and_links_its_urls() -> None:
    text = "Hello,\n\nSee it here: http://127.0.0.1:5000/photos/abc.\r\n\r\n— photolane\n"
    assert text_paragraphs(text) == [
        [Part("Hello,")],
        [Part("See it here: "), Part("http://127.0.0.1:5000/photos/abc", "http://127.0.0.1:5000/photos/abc"),
         Part(".")],
        [Part("— photolane")],
    ]
    assert body_paragraphs("plain, no tags < 3") == [[Part("plain, no tags < 3")]]
    assert linked("javascript:alert(1) ftp://x") == [Part("javascript:alert(1) ftp://x")]


def test_the_stand_ins_records_become_messages_in_their_order() -> None:
    data = {
        "sns": {"SMS": [{"message": "photolane: ready http://h/photos/1", "message_id": "m1",
                         "phone_number": "+14155552671"}]},
        "ses": {"Message": [{"body": SIGNIN_HTML, "destinations": {"ToAddresses": ["a@example.com"],
                                                                   "CcAddresses": ["b@example.com"]},
                             "id": "x", "source": "photolane@example.com", "subject": "Your photolane sign-in link"},
                            {"body": "text only", "destinations": {}, "id": "y", "source": "s", "subject": ""}]},
        "s3": {"FakeKey": [{"name": "k"}]},
    }
    sms, signin, bare = messages_of(data)
    assert (sms.channel, sms.to, sms.subject, sms.order) == ("sms", ["+14155552671"], None, 0)
    assert sms.links == [Part("http://h/photos/1", "http://h/photos/1")]
    assert (signin.channel, signin.to, signin.sender, signin.order) == \
        ("email", ["a@example.com", "b@example.com"], "photolane@example.com", 0)
    assert signin.text().splitlines()[4] == "Open your gallery: http://127.0.0.1:5000/signin/open#eyJ.abc-_"
    assert signin.as_json()["links"] == [{"text": "Open your gallery",
                                          "url": "http://127.0.0.1:5000/signin/open#eyJ.abc-_"}]
    assert (bare.to, bare.subject, bare.order, bare.sent_at) == ([], None, 1, None)
    assert messages_of({}) == []


@pytest.mark.parametrize(("endpoint", "on"), [
    ("http://127.0.0.1:4566", True), ("http://localhost:4566", True), ("http://[::1]:4566", True),
    ("http://127.0.0.2:4566", True), (None, False), ("http://standin:4566", False),
    ("https://s3.amazonaws.com", False), ("http://192.168.0.10:4566", False), ("file:///etc", False),
])
def test_local_mode_is_the_setting_and_a_stand_in_on_this_machine(endpoint: str | None, on: bool) -> None:
    assert enabled(UploadSettings(dev_inbox=True, aws_endpoint_url=endpoint)) is on
    assert enabled(UploadSettings(dev_inbox=False, aws_endpoint_url=endpoint)) is False
    assert UploadSettings().dev_inbox is False  # off unless asked for
