"""signin.requested in the notifier, with fakes: it decides whether a link goes (the upload service
sends every request without looking), sends it once, and counts sign-in links apart from photo notices."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from photolane_common.domain import Photo, email_hash
from photolane_common.limits import Limiter
from photolane_common.messages import Envelope, SigninRequested, decode, encode
from photolane_notifier.channels import SendFailed
from photolane_notifier.deliveries import NotifierDeps
from photolane_notifier.handlers import handle
from photolane_notifier.settings import NotifierSettings
from photolane_notifier.text import Note

LINK = "http://photos.example/signin/open#token"


class Photos:
    """The owner-created index: each owner's newest photo (``fail``: the next reads raise)."""

    def __init__(self, **newest_email: str) -> None:
        self.newest = newest_email  # owner -> the email as stored on their newest photo
        self.reads: list[str] = []
        self.fail = 0

    def newest_of(self, owner: str) -> Photo | None:
        self.reads.append(owner)
        if self.fail:
            self.fail -= 1
            raise ConnectionError("DynamoDB out of reach")
        if owner not in self.newest:
            return None
        now = datetime.now(UTC)
        return Photo(id="p1", status="processed", created_at=now, updated_at=now, content_type="image/jpeg",
                     original_key="originals/p1.jpg", email=self.newest[owner])


class Claims:
    def __init__(self) -> None:
        self.taken: list[str] = []

    def claim(self, key: str) -> bool:
        if key in self.taken:
            return False
        self.taken.append(key)
        return True


class Throttle:
    """One event per key while ``open`` is False (the interval not over yet)."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, int]] = []
        self.open = False

    def allow(self, key: str, interval_seconds: int) -> bool:
        seen = any(k == key for k, _ in self.keys)
        self.keys.append((key, interval_seconds))
        return self.open or not seen


class Counts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, key: str, expires_at: int, amount: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]


class Mail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Note]] = []
        self.fail = False

    def send(self, to: str, note: Note) -> None:
        if self.fail:
            raise SendFailed("SES said no")
        self.sent.append((to, note))


@pytest.fixture
def photos() -> Photos:
    return Photos(**{"ann@example.com": "Ann@Example.com"})


@pytest.fixture
def deps(photos: Photos) -> NotifierDeps:
    settings = NotifierSettings(emails_per_recipient_day=3, signin_links_per_recipient_day=2,
                                signin_interval_seconds=60, public_url="http://photos.example")
    return NotifierDeps(settings=settings, photos=photos, people=None,  # type: ignore[arg-type]
                        senders={"email": Mail(), "sms": Mail()},
                        claims=Claims(), limiter=Limiter(Counts(), clock=lambda: 86400.0 * 100 + 60),
                        throttle=Throttle())


def _request(email: str) -> Envelope:
    return decode(encode(SigninRequested(email=email, link=LINK, valid_seconds=600)))


def _mail(deps: NotifierDeps) -> Mail:
    mail = deps.senders["email"]
    assert isinstance(mail, Mail)
    return mail


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "photolane.notifier"]


def test_an_email_with_photos_gets_its_link_once_at_its_stored_spelling(
        deps: NotifierDeps, photos: Photos, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    message = _request("ann@example.com")
    handle(message, deps)
    handle(message, deps)  # the same message again (SQS redelivers): never a second email
    handle(message, deps)
    ((to, note),) = _mail(deps).sent
    assert to == "Ann@Example.com"  # the newest photo's spelling, not the typed one
    assert LINK in note.text and "10 minutes" in note.text
    assert photos.reads == ["ann@example.com"] * 3
    assert deps.claims.taken == [f"signin:{message.id}:email"]  # type: ignore[attr-defined]
    assert _events(caplog) == ["signin.sent", "signin.already_sent", "signin.already_sent"]
    assert not _mail(deps).fail and not deps.senders["sms"].sent  # type: ignore[attr-defined]
    assert all(LINK not in r.getMessage() and LINK not in str(vars(r)) for r in caplog.records)  # a credential


def test_an_email_without_photos_gets_nothing_and_the_message_is_done(
        deps: NotifierDeps, photos: Photos, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    message = _request("Nobody@Example.com")
    handle(message, deps)  # returns: the worker deletes the message, never retried
    handle(message, deps)
    assert _mail(deps).sent == []
    assert photos.reads == ["nobody@example.com"] * 2  # looked up by owner: the email without case
    assert deps.claims.taken == [] and deps.throttle.keys == []  # type: ignore[attr-defined]
    assert _events(caplog) == ["signin.no_photos", "signin.no_photos"]
    record = next(r for r in caplog.records if r.getMessage() == "signin.no_photos")
    assert record.email_hash == email_hash("nobody@example.com")  # type: ignore[attr-defined]  # not the address


def test_a_failed_read_takes_no_claim_so_the_message_sends_when_it_comes_back(
        deps: NotifierDeps, photos: Photos) -> None:
    photos.fail = 1
    message = _request("ann@example.com")
    with pytest.raises(ConnectionError):
        handle(message, deps)  # the worker puts the message back
    assert deps.claims.taken == []  # type: ignore[attr-defined]
    handle(message, deps)
    handle(message, deps)
    assert len(_mail(deps).sent) == 1


def test_one_link_an_interval_per_owner_whatever_the_spelling(deps: NotifierDeps,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    handle(_request("ann@example.com"), deps)
    handle(_request("ANN@example.com"), deps)  # another request within the interval
    assert len(_mail(deps).sent) == 1
    keys = deps.throttle.keys  # type: ignore[attr-defined]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0][1] == 60  # PHOTOLANE_SIGNIN_INTERVAL_SECONDS
    assert "ann" not in keys[0][0]
    assert _events(caplog)[-1] == "signin.throttled"


def test_photo_notices_never_use_up_the_sign_in_links(deps: NotifierDeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    email_limit = deps.settings.daily_limit("email")
    for _ in range(10):  # 10 photo notices to that address: its 3 emails a day are used up
        deps.limiter.check(email_limit, "Ann@Example.com")
    assert not deps.limiter.check(email_limit, "Ann@Example.com").allowed
    deps.throttle.open = True  # type: ignore[attr-defined]  # each request after the interval
    for _ in range(3):
        handle(_request("ann@example.com"), deps)
    assert len(_mail(deps).sent) == 2  # its own limit: 2 sign-in links a day
    assert _events(caplog) == ["signin.sent", "signin.sent", "signin.refused"]
    refused = next(r for r in caplog.records if r.getMessage() == "signin.refused")
    assert "2 sign-in links a day" in refused.error  # type: ignore[attr-defined]
    counts = deps.limiter.counters.counts  # type: ignore[attr-defined]
    assert sorted(k.split(":")[1] for k in counts) == ["email-recipient", "signin-recipient"]
    assert [n for k, n in counts.items() if k.startswith("limit:email-recipient:")] == [11]  # links never counted


def test_a_failed_send_is_not_tried_again(deps: NotifierDeps, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _mail(deps).fail = True
    message = _request("ann@example.com")
    handle(message, deps)
    _mail(deps).fail = False
    handle(message, deps)
    assert _mail(deps).sent == []
    assert _events(caplog) == ["signin.failed", "signin.already_sent"]
