"""Sign-in tokens: signed, expiring, bound to their purpose and key."""

import inspect

import pytest
from itsdangerous import URLSafeTimedSerializer
from pydantic import BaseModel

from photolane_common.messages import SigninRequested
from photolane_upload import signin
from photolane_upload.signin import LinkExpired, LinkInvalid, LinkUsed, make_token, open_link, read_token, token_of
from photolane_upload.validation import InvalidUpload


def test_a_token_names_its_email_and_a_nonce_of_its_own() -> None:
    first, second = make_token("key", "me@example.com"), make_token("key", "me@example.com")
    assert read_token("key", first, 60).email == "me@example.com"
    assert read_token("key", first, 60).nonce != read_token("key", second, 60).nonce


class Marks:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def use(self, nonce: str, keep_seconds: int) -> bool:
        fresh = nonce not in self.used
        self.used.add(nonce)
        return fresh


def test_a_link_opens_once_whether_its_fragment_or_the_whole_link_is_posted() -> None:
    marks, token = Marks(), make_token("key", "me@example.com")
    assert token_of(f"https://photos.example/signin/open#{token}") == token == token_of(f"  {token} ")
    assert open_link(f"https://photos.example/signin/open#{token}", key="key", max_age=60, used=marks) == \
        "me@example.com"
    with pytest.raises(LinkUsed):
        open_link(token, key="key", max_age=60, used=marks)
    with pytest.raises(LinkInvalid):
        open_link("", key="key", max_age=60, used=marks)


def test_a_token_of_the_old_kind_without_a_nonce_is_invalid() -> None:
    old = URLSafeTimedSerializer("key", salt=signin.SALT).dumps({"email": "me@example.com"})
    with pytest.raises(LinkInvalid):
        read_token("key", old, 60)


def test_tampered_cut_or_foreign_tokens_are_invalid() -> None:
    token = make_token("key", "me@example.com")
    other = make_token("key", "you@example.com")
    forged = token.split(".")[0] + "." + ".".join(other.split(".")[1:])  # my payload, your signature
    for bad in (token[:-2], token + "x", forged, make_token("another key", "me@example.com"), "", "a.b.c"):
        with pytest.raises(LinkInvalid):
            read_token("key", bad, 60)


def test_a_token_signed_for_another_purpose_is_invalid() -> None:
    # e.g. a session cookie's payload signed with the same key but another salt
    token = URLSafeTimedSerializer("key", salt="cookie-session").dumps({"email": "me@example.com"})
    with pytest.raises(LinkInvalid):
        read_token("key", token, 60)


def test_an_old_token_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 3600)
    token = make_token("key", "me@example.com")
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    with pytest.raises(LinkExpired):
        read_token("key", token, 1800)
    assert read_token("key", token, 7200).email == "me@example.com"


def test_the_email_hash_is_stable_and_hides_the_address() -> None:
    assert signin.email_hash("Me@Example.com") == signin.email_hash("me@example.com")
    assert "example" not in signin.email_hash("me@example.com")


class Queue:
    """The notifications queue: records what is sent."""

    def __init__(self) -> None:
        self.sent: list[BaseModel] = []

    def send(self, data: BaseModel) -> str:
        self.sent.append(data)
        return "message-id"


def test_asking_for_a_link_does_the_same_for_every_email_and_never_looks_at_photos() -> None:
    """The upload service cannot tell (nor let the answer's time tell) who has photos: it has no photo
    store to ask; every well-formed email gets one message of the same shape; the notifier decides."""
    assert "photos" not in inspect.signature(signin.request_link).parameters
    sent: dict[str, list[BaseModel]] = {}
    for email in ("has-photos@example.com", "no-photos@example.com"):
        queue = Queue()
        signin.request_link(f" {email} ", key="key", public_url="https://photos.example/", max_age=600,
                            notifications=queue)
        sent[email] = queue.sent
    assert [len(messages) for messages in sent.values()] == [1, 1]
    for email, (message,) in sent.items():
        assert isinstance(message, SigninRequested)
        assert message.email == email and message.valid_seconds == 600
        assert read_token("key", token_of(message.link), 600).email == email
        assert message.link.startswith("https://photos.example/signin/open#")
    with pytest.raises(InvalidUpload):
        signin.request_link("not an email", key="key", public_url="https://photos.example", max_age=600,
                            notifications=Queue())
