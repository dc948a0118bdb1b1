"""Sign-in tokens: signed, expiring, bound to their purpose and key."""

import pytest
from itsdangerous import URLSafeTimedSerializer

from photolane_upload import signin
from photolane_upload.signin import LinkExpired, LinkInvalid, make_token, read_token


def test_a_token_names_its_email() -> None:
    token = make_token("key", "me@example.com")
    assert read_token("key", token, 60) == "me@example.com"


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
    assert read_token("key", token, 7200) == "me@example.com"


def test_the_email_hash_is_stable_and_hides_the_address() -> None:
    assert signin.email_hash("Me@Example.com") == signin.email_hash("me@example.com")
    assert "example" not in signin.email_hash("me@example.com")
