"""The notifier against a real moto server: what the stand-in records as sent."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.domain import QUEUED, Face, Photo, ProcessedImage
from photolane_common.messages import Envelope, PhotoProcessed, decode, encode
from photolane_common.models import DeliveryAttribute, PhotoModel
from photolane_common.worker import RetryLater
from photolane_notifier.bootstrap import build_deps
from photolane_notifier.deliveries import DeliveryInProgress, NotifierDeps
from photolane_notifier.handlers import handle
from photolane_notifier.settings import NotifierSettings


def _unique_phone() -> str:
    return f"+1415555{2000 + uuid.uuid4().int % 8000:04d}"  # never 555-01xx: fictitious numbers are refused


@pytest.fixture
def deps(stack: Stack, tmp_path: Path) -> NotifierDeps:
    settings = NotifierSettings(outbox_dir=tmp_path / "outbox", events_topic_arn=stack.resources.events_topic_arn,
                                public_url="http://photos.example")
    return build_deps(settings)


def _processed_photo(deps: NotifierDeps, **contact: str) -> Photo:
    photo_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    deps.photos.create(Photo(id=photo_id, status=QUEUED, created_at=now, updated_at=now,
                             content_type="image/jpeg", original_key=f"originals/{photo_id}.jpg", **contact))
    deps.photos.mark_processed(photo_id, ProcessedImage("f", "t", "r", 10, 10, (Face((1, 2, 3, 0)),)))
    return deps.photos.get(photo_id)


def _deliver(photo: Photo, deps: NotifierDeps) -> None:
    handle(decode(encode(PhotoProcessed(photo_id=photo.id, status="processed"))), deps)


def test_one_sms_and_one_email_even_when_the_message_comes_twice(deps: NotifierDeps, stack: Stack) -> None:
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photo = _processed_photo(deps, phone=phone, email=email)
    _deliver(photo, deps)
    _deliver(photo, deps)

    sms = [m for m in stack.standin.sms() if m["phone_number"] == phone]
    assert len(sms) == 1
    assert f"http://photos.example/photos/{photo.id}" in sms[0]["message"]
    emails = [m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]
    assert len(emails) == 1
    assert emails[0]["subject"] == "Your photo is ready" and emails[0]["source"] == "photolane@example.com"

    recorded = {d.channel: d for d in deps.photos.get(photo.id).deliveries}
    assert (recorded["sms"].status, recorded["sms"].to) == ("sent", phone)
    assert (recorded["email"].status, recorded["email"].to) == ("sent", email)
    lines = deps.outbox.path.read_text().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert (event["photo_id"], event["status"], event["faces"]) == (photo.id, "processed", 1)
    assert {n["channel"]: n["status"] for n in event["notifications"]} == {"sms": "sent", "email": "sent"}


def test_only_the_channels_the_uploader_gave(deps: NotifierDeps, stack: Stack) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    photo = _processed_photo(deps, email=email)
    _deliver(photo, deps)
    assert [d.channel for d in deps.photos.get(photo.id).deliveries] == ["email"]


def test_a_refused_email_is_recorded_as_failed_with_the_reason(stack: Stack, tmp_path: Path) -> None:
    deps = build_deps(NotifierSettings(email_from="unverified@example.org"))  # SES refuses this sender
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    photo = _processed_photo(deps, email=email)
    _deliver(photo, deps)
    delivery = deps.photos.get(photo.id).delivery("email")
    assert delivery.status == "failed"
    assert "not verified" in delivery.error
    _deliver(photo, deps)  # a failure is final too: no second try, no second email
    assert not [m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]


def test_a_live_claim_brings_the_message_back_after_its_lease_and_a_dead_ones_becomes_uncertain(
        deps: NotifierDeps, stack: Stack) -> None:
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photo = _processed_photo(deps, phone=phone, email=email)
    assert deps.photos.claim_delivery(photo.id, "sms", phone)  # another worker, alive
    with pytest.raises(DeliveryInProgress) as held:
        _deliver(photo, deps)
    lease = deps.settings.delivery_lease_seconds
    assert lease - 5 < held.value.delay_seconds <= lease + 1  # back when that claim's lease ends
    assert not [m for m in stack.standin.sms() if m["phone_number"] == phone]
    assert len([m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]) == 1  # not held up
    assert deps.photos.get(photo.id).pending is not None  # not settled yet
    old = datetime.now(UTC) - timedelta(seconds=lease + 5)  # that worker died (maybe after sending)
    PhotoModel(photo.id).update(actions=[PhotoModel.sms_delivery.set(
        DeliveryAttribute(to=phone, status="sending", claimed_at=old))])
    _deliver(photo, deps)
    _deliver(photo, deps)  # and again (a redrive): still never sent a second time
    assert not [m for m in stack.standin.sms() if m["phone_number"] == phone]
    sms = deps.photos.get(photo.id).delivery("sms")
    assert sms.status == "uncertain" and "may or may not have gone out" in sms.error
    assert deps.photos.get(photo.id).pending is None  # settled: the reconciler leaves it alone
    assert photo.id in [p.id for p in deps.photos.with_uncertain_deliveries()]


def test_a_live_claim_in_the_worker_loop_is_put_back_with_a_delay_not_failed(stack: Stack) -> None:
    from photolane_common.worker import Worker

    settings = NotifierSettings(delivery_lease_seconds=14, send_read_timeout_seconds=2, send_connect_timeout_seconds=1,
                                poll_wait_seconds=1)
    deps = build_deps(settings)
    phone = _unique_phone()
    photo = _processed_photo(deps, phone=phone)
    assert deps.photos.claim_delivery(photo.id, "sms", phone)  # a worker that then died
    sqs = aws.client("sqs", settings)
    url = stack.resources.notifications_queue_url
    worker = Worker(sqs, url, lambda envelope: handle(envelope, deps), settings)
    sqs.send_message(QueueUrl=url, MessageBody=encode(PhotoProcessed(photo_id=photo.id, status="processed")))
    received = 0
    deadline = time.monotonic() + 40
    while deps.photos.get(photo.id).delivery("sms").status == "sending" and time.monotonic() < deadline:
        received += worker.poll_once()
    assert 1 <= received <= 3  # the copy waited out the lease, delayed, not retried in a loop
    assert deps.photos.get(photo.id).delivery("sms").status == "uncertain"
    dlq = sqs.get_queue_url(QueueName=f"{stack.env['PHOTOLANE_NOTIFICATIONS_QUEUE']}-dlq")["QueueUrl"]
    assert not sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")
    assert not [m for m in stack.standin.sms() if m["phone_number"] == phone]


def test_sends_must_fit_in_the_lease() -> None:
    with pytest.raises(ValueError, match="DELIVERY_LEASE"):
        NotifierSettings(delivery_lease_seconds=20)  # 2 x (3 + 10 + 1) s of send does not fit
    with pytest.raises(ValueError, match="DELIVERY_LEASE"):
        NotifierSettings(delivery_lease_seconds=40, fault_pause_after_claim_seconds=15)


def test_events_are_published_to_the_topic(deps: NotifierDeps, stack: Stack) -> None:
    settings = deps.settings
    sqs, sns = aws.client("sqs", settings), aws.client("sns", settings)
    listener = sqs.create_queue(QueueName=f"listener-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=listener, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.resources.events_topic_arn, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    photo = _processed_photo(deps)
    _deliver(photo, deps)
    got = sqs.receive_message(QueueUrl=listener, WaitTimeSeconds=2)["Messages"]
    assert json.loads(got[0]["Body"])["photo_id"] == photo.id


def _signin(email: str, **old: str) -> Envelope:
    """A signin.requested message as the upload service sends it (``old``: fields of older messages)."""
    from photolane_common.messages import SigninRequested

    link = f"http://photos.example/signin/open#{uuid.uuid4().hex}"
    body = json.loads(encode(SigninRequested(email=email, link=link, valid_seconds=600)))
    body["data"].update(old)
    return decode(json.dumps(body))


def _mails_to(stack: Stack, email: str) -> list[dict]:
    return [m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]


def test_a_signin_link_goes_by_email_only_once_and_is_never_published(deps: NotifierDeps, stack: Stack) -> None:
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    _processed_photo(deps, email=email, phone=phone)
    message = _signin(email.upper(), phone=phone)  # a message of the old kind, naming a phone: never texted
    link = message.data["link"]
    handle(message, deps)
    handle(message, deps)  # delivered twice: sent once

    emails = _mails_to(stack, email)  # the newest photo's spelling of the address, not the typed one
    assert len(emails) == 1 and link in emails[0]["body"] and emails[0]["subject"] == "Your photolane sign-in link"
    assert "10 minutes" in emails[0]["body"]
    assert not [m for m in stack.standin.sms() if m["phone_number"] == phone]
    assert not deps.outbox.path.exists() or link not in deps.outbox.path.read_text()


def test_a_signin_for_an_email_without_photos_sends_nothing_and_is_done(deps: NotifierDeps, stack: Stack) -> None:
    from photolane_common.worker import Worker

    email = f"{uuid.uuid4().hex[:8]}@example.com"
    _processed_photo(deps, email=f"other-{email}")  # someone else's photo: not this owner's
    sqs, url = aws.client("sqs", deps.settings), stack.resources.notifications_queue_url
    sqs.send_message(QueueUrl=url, MessageBody=_signin(email).model_dump_json())
    worker = Worker(sqs, url, lambda envelope: handle(envelope, deps), deps.settings)
    assert worker.poll_once() == 1
    assert not _mails_to(stack, email)
    # Done with: deleted, neither back on the queue nor dead-lettered.
    dlq = sqs.get_queue_url(QueueName=f"{stack.env['PHOTOLANE_NOTIFICATIONS_QUEUE']}-dlq")["QueueUrl"]
    assert not sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=0).get("Messages")
    _processed_photo(deps, email=email)
    handle(_signin(email), deps)  # once the email has a photo, its next request gets a link
    assert len(_mails_to(stack, email)) == 1


def test_one_signin_link_per_email_an_interval(stack: Stack) -> None:
    deps = build_deps(NotifierSettings(signin_interval_seconds=2))
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    _processed_photo(deps, email=email)
    handle(_signin(email), deps)
    handle(_signin(email.upper()), deps)  # another request, within the interval: throttled (a conditional put)
    assert len(_mails_to(stack, email)) == 1
    time.sleep(2.1)
    handle(_signin(email), deps)  # the interval over
    assert len(_mails_to(stack, email)) == 2


def test_photo_notices_never_use_up_the_sign_in_links_of_an_address(stack: Stack) -> None:
    """Finding B: 30 anonymous uploads naming an email used up its emails of the day, sign-in links too."""
    limited = build_deps(NotifierSettings(emails_per_recipient_day=2, signin_links_per_recipient_day=2,
                                          signin_interval_seconds=0))
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    photos = [_processed_photo(limited, email=email) for _ in range(3)]
    for photo in photos:  # anyone's uploads naming that email
        _deliver(photo, limited)
    assert limited.photos.get(photos[2].id).delivery("email").status == "refused"  # its photo notices used up
    assert len(_mails_to(stack, email)) == 2

    for _ in range(3):
        handle(_signin(email), limited)
    mails = _mails_to(stack, email)
    assert [m["subject"] for m in mails].count("Your photolane sign-in link") == 2  # their own limit, then refused
    assert len(mails) == 4


def test_a_recipients_daily_limit_refuses_more_and_counts_sms_and_email_apart(stack: Stack, tmp_path: Path) -> None:
    limited = build_deps(NotifierSettings(sms_per_recipient_day=1, emails_per_recipient_day=2))
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photos = [_processed_photo(limited, phone=phone, email=email) for _ in range(3)]
    for photo in photos:
        _deliver(photo, limited)
    assert len([m for m in stack.standin.sms() if m["phone_number"] == phone]) == 1
    assert len([m for m in stack.standin.emails() if email in m["destinations"]["ToAddresses"]]) == 2
    statuses = [{d.channel: d.status for d in limited.photos.get(p.id).deliveries} for p in photos]
    assert statuses == [{"sms": "sent", "email": "sent"}, {"sms": "refused", "email": "sent"},
                        {"sms": "refused", "email": "refused"}]
    refused = limited.photos.get(photos[2].id).delivery("sms")
    assert "1 SMS a day" in refused.error and refused.sent_at is None
    _deliver(photos[2], limited)  # the message again: a refusal is final, nothing is sent
    assert len([m for m in stack.standin.sms() if m["phone_number"] == phone]) == 1


def test_no_sms_to_a_country_not_allowed_even_for_a_record_made_before(stack: Stack) -> None:
    only_gb = build_deps(NotifierSettings(sms_countries="GB"))
    phone = _unique_phone()  # a US number, accepted when the list still had the US
    photo = _processed_photo(only_gb, phone=phone)
    _deliver(photo, only_gb)
    assert not [m for m in stack.standin.sms() if m["phone_number"] == phone]
    delivery = only_gb.photos.get(photo.id).delivery("sms")
    assert delivery.status == "refused" and "allowed countries: GB" in delivery.error


# -- the deployment's SMS ceiling (ceiling.py): deferred SMS, sent once when the window reopens ----------------
class Clock:
    """The ceiling's clock, moved by the test instead of waiting for the hour to end."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def next_hour(self) -> None:
        self.now = (self.now // 3600 + 1) * 3600 + 1


def _ceiling_deps(clock: Clock, tmp_path: Path | None = None, **settings: object) -> NotifierDeps:
    """The notifier's deps with the ceiling's counters on a clock of the test's (the same settings table)."""
    from dataclasses import replace

    from photolane_common.limits import DynamoCounters, Limiter

    built = build_deps(NotifierSettings(public_url="http://photos.example", **settings,  # type: ignore[arg-type]
                                        **({"outbox_dir": tmp_path / "outbox"} if tmp_path else {})))
    return replace(built, limiter=Limiter(DynamoCounters(), clock=clock), ceiling=None)  # the ceiling on it


def _sms_to(stack: Stack, phone: str) -> list[dict]:
    return [m for m in stack.standin.sms() if m["phone_number"] == phone]


def test_sms_over_the_hours_ceiling_wait_and_go_once_when_it_reopens_and_email_does_not_wait(
        stack: Stack, tmp_path: Path) -> None:
    from photolane_notifier.deliveries import SmsDeferred

    clock = Clock()
    deps = _ceiling_deps(clock, tmp_path, sms_segments_per_hour=1, sms_segments_per_day=10)
    first, second = (_processed_photo(deps, phone=_unique_phone(), email=f"{uuid.uuid4().hex[:8]}@example.com")
                     for _ in range(2))
    _deliver(first, deps)
    assert len(_sms_to(stack, first.phone)) == 1  # the hour's one part

    with pytest.raises(SmsDeferred) as deferred:
        _deliver(second, deps)
    assert 0 < deferred.value.delay_seconds <= 3600  # back when the hour ends (the worker: 15 minutes at most)
    sms = deps.photos.get(second.id).delivery("sms")
    assert sms.status == "deferred" and sms.sent_at is None and sms.until is not None
    assert "SMS ceiling (1 SMS parts an hour, every recipient together) is reached; it goes out after" in sms.error
    assert not _sms_to(stack, second.phone)
    assert len(_mails_to(stack, second.email)) == 1  # the email went now
    assert deps.photos.get(second.id).delivery("email").status == "sent"
    assert deps.photos.get(second.id).pending is None  # its message carries the SMS, not the reconciler
    assert second.id not in deps.outbox.path.read_text()  # announced once every channel is settled

    for _ in range(3):  # the message again before the hour ends (a copy, a redrive): still waiting, nothing sent
        with pytest.raises(SmsDeferred):
            _deliver(second, deps)
    assert not _sms_to(stack, second.phone) and len(_mails_to(stack, second.email)) == 1

    clock.next_hour()
    _deliver(second, deps)
    _deliver(second, deps)  # and again: sent once
    sent = _sms_to(stack, second.phone)
    assert len(sent) == 1 and f"http://photos.example/photos/{second.id}" in sent[0]["message"]
    sms = deps.photos.get(second.id).delivery("sms")
    assert (sms.status, sms.error, sms.until) == ("sent", None, None) and sms.sent_at is not None
    assert len(_mails_to(stack, second.email)) == 1
    events = [json.loads(line) for line in deps.outbox.path.read_text().splitlines()]
    (event,) = [e for e in events if e["photo_id"] == second.id]
    assert {n["channel"]: n["status"] for n in event["notifications"]} == {"sms": "sent", "email": "sent"}

    third = _processed_photo(deps, phone=_unique_phone())
    with pytest.raises(SmsDeferred):  # that hour's one part is the deferred SMS's
        _deliver(third, deps)


def test_the_days_ceiling_counts_parts_and_an_sms_that_may_not_wait_is_refused(stack: Stack) -> None:
    from photolane_notifier.deliveries import SmsDeferred

    clock = Clock()
    deps = _ceiling_deps(clock, sms_segments_per_hour=0, sms_segments_per_day=3)
    photos = [_processed_photo(deps, phone=_unique_phone()) for _ in range(4)]
    for photo in photos[:3]:
        _deliver(photo, deps)  # one part each
    with pytest.raises(SmsDeferred) as deferred:
        _deliver(photos[3], deps)
    assert "3 SMS parts a day" in str(deferred.value) and deferred.value.delay_seconds <= 86400
    assert [len(_sms_to(stack, p.phone)) for p in photos] == [1, 1, 1, 0]

    impatient = _ceiling_deps(clock, sms_segments_per_hour=0, sms_segments_per_day=3, sms_max_wait_seconds=0)
    refused = _processed_photo(impatient, phone=_unique_phone())
    _deliver(refused, impatient)  # the same ceiling, spent; 0: an SMS never waits
    sms = impatient.photos.get(refused.id).delivery("sms")
    assert sms.status == "refused" and "3 SMS parts a day" in sms.error and "SMS never wait" in sms.error
    _deliver(refused, impatient)  # final
    assert not _sms_to(stack, refused.phone)

    clock.now += 2 * 86400  # its notifier away for two days: the SMS waited longer than a day
    _deliver(photos[3], deps)
    sms = deps.photos.get(photos[3].id).delivery("sms")
    assert sms.status == "refused" and "longer than 24 hours" in sms.error
    assert not _sms_to(stack, photos[3].phone)


class Killed(BaseException):
    """kill -9 at that line: nothing after it runs (a BaseException: no handler catches it)."""


def _dies_after(obj: object, name: str) -> None:
    """``obj.name`` does its work, then the process 'dies'."""
    real = getattr(obj, name)

    def then_die(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)
        raise Killed(name)

    setattr(obj, name, then_die)


@pytest.mark.parametrize("dies_after", ["defer_delivery", "take", "resume_delivery", "send", "finish_delivery"])
def test_a_deferred_sms_survives_a_kill_anywhere_and_is_never_sent_twice(stack: Stack, dies_after: str) -> None:
    """Each step of a deferral and of its resumption, with the notifier killed right after it; then the
    message comes again (its copy, or the original after its visibility timeout) to a fresh notifier."""
    from dataclasses import replace

    from photolane_notifier.deliveries import SmsDeferred

    clock = Clock()
    deps = _ceiling_deps(clock, sms_segments_per_hour=1, sms_segments_per_day=10)
    _deliver(_processed_photo(deps, phone=_unique_phone()), deps)  # the hour's one part
    photo = _processed_photo(deps, phone=_unique_phone())
    dying = replace(deps, ceiling=None)  # its own ceiling object, the same counters
    if dies_after == "defer_delivery":  # killed right after recording the deferral, before its copy is queued
        dying.photos = type(deps.photos)()
        _dies_after(dying.photos, "defer_delivery")
        with pytest.raises(Killed):
            _deliver(photo, dying)
        assert deps.photos.get(photo.id).delivery("sms").status == "deferred"
    else:
        with pytest.raises(SmsDeferred):
            _deliver(photo, deps)
        clock.next_hour()
        target = {"take": dying.ceiling, "send": dying.senders["sms"]}.get(dies_after)
        if target is None:
            dying.photos = type(deps.photos)()
            target = dying.photos
        elif dies_after == "send":
            dying.senders = {**deps.senders, "sms": type(deps.senders["sms"])(deps.senders["sms"].sns)}
            target = dying.senders["sms"]
        _dies_after(target, dies_after)
        with pytest.raises(Killed):
            _deliver(photo, dying)

    clock.next_hour()
    for _ in range(3):  # the message again, to a notifier alive
        try:
            _deliver(photo, deps)
        except DeliveryInProgress:  # the dead one's claim, within its lease: back after it
            old = datetime.now(UTC) - timedelta(seconds=deps.settings.delivery_lease_seconds + 5)
            PhotoModel(photo.id).update(actions=[PhotoModel.sms_delivery.claimed_at.set(old)])
    sent = len(_sms_to(stack, photo.phone))
    status = deps.photos.get(photo.id).delivery("sms").status
    if dies_after in ("resume_delivery", "send"):
        # Killed between claiming it again and recording the send: it may or may not have gone out.
        assert (status, sent) == ("uncertain", 1 if dies_after == "send" else 0)
    else:
        assert (status, sent) == ("sent", 1)  # killed anywhere else: sent, once


def test_a_deferred_sms_goes_back_to_the_queue_delayed_and_is_sent_once_by_the_worker_loop(stack: Stack) -> None:
    from photolane_common.worker import Worker

    clock = Clock()
    clock.now = (time.time() // 3600 + 1) * 3600 - 2  # two seconds before the hour ends
    settings = dict(sms_segments_per_hour=1, sms_segments_per_day=10, poll_wait_seconds=1)
    deps = _ceiling_deps(clock, **settings)
    _deliver(_processed_photo(deps, phone=_unique_phone()), deps)
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photo = _processed_photo(deps, phone=phone, email=email)
    sqs, url = aws.client("sqs", deps.settings), stack.resources.notifications_queue_url
    worker = Worker(sqs, url, lambda envelope: handle(envelope, deps), deps.settings)
    sqs.send_message(QueueUrl=url, MessageBody=encode(PhotoProcessed(photo_id=photo.id, status="processed")))
    assert worker.poll_once() == 1
    assert deps.photos.get(photo.id).delivery("sms").status == "deferred" and len(_mails_to(stack, email)) == 1
    clock.next_hour()
    deadline = time.monotonic() + 30
    while deps.photos.get(photo.id).delivery("sms").status == "deferred" and time.monotonic() < deadline:
        worker.poll_once()  # the delayed copy (2 s), received once its delay is over
    assert deps.photos.get(photo.id).delivery("sms").status == "sent"
    assert len(_sms_to(stack, phone)) == 1 and len(_mails_to(stack, email)) == 1
    dlq = sqs.get_queue_url(QueueName=f"{stack.env['PHOTOLANE_NOTIFICATIONS_QUEUE']}-dlq")["QueueUrl"]
    assert not sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=0).get("Messages")


def test_a_fictitious_number_in_an_older_record_is_refused_before_sending(deps: NotifierDeps, stack: Stack) -> None:
    photo = _processed_photo(deps, phone="+14155550142")  # recorded before the upload service refused them
    _deliver(photo, deps)
    sms = deps.photos.get(photo.id).delivery("sms")
    assert sms.status == "refused" and "555-0100 to 555-0199" in sms.error
    assert not _sms_to(stack, "+14155550142")


# -- batches (batching.py): one SMS and one email for a recipient's photos of a window ------------------------
WINDOW = 2  # seconds: the batch tests wait it out


def _batch_deps(tmp_path: Path | None = None, **settings: object) -> NotifierDeps:
    return build_deps(NotifierSettings(public_url="http://photos.example", batch_window_seconds=WINDOW,
                                       **settings,  # type: ignore[arg-type]
                                       **({"outbox_dir": tmp_path / "outbox"} if tmp_path else {})))


def _waits(photo: Photo, deps: NotifierDeps) -> float:
    """Deliver the photo's message: it must wait in its batch (a delayed copy); the delay."""
    from photolane_notifier.deliveries import BatchWaiting

    with pytest.raises(BatchWaiting) as waiting:
        _deliver(photo, deps)
    return waiting.value.delay_seconds


def _after_the_window() -> None:
    time.sleep(WINDOW + 0.2)


def _batch_of(deps: NotifierDeps, photo: Photo, channel: str = "sms") -> str:
    return deps.photos.get(photo.id).delivery(channel).batch


def _code_of(deps: NotifierDeps, photo: Photo, channel: str = "sms") -> str | None:
    """The code of the photo's batch's page (made by the claim)."""
    return deps.batches.get(_batch_of(deps, photo, channel)).code


def test_a_batch_of_three_photos_is_one_sms_and_one_email_listing_them_each_photo_saying_so(
        stack: Stack, tmp_path: Path) -> None:
    deps = _batch_deps(tmp_path)
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photos = [_processed_photo(deps, phone=phone, email=email) for _ in range(3)]
    delays = [_waits(photo, deps) for photo in photos]
    assert all(0 < delay <= WINDOW for delay in delays)  # each message back when the batch is due
    _waits(photos[1], deps)  # a redelivery, a duplicate: nothing added twice, nothing sent
    waiting = deps.photos.get(photos[0].id).delivery("email")
    assert waiting.status == "batched" and "one message with the other photos" in waiting.note
    assert deps.photos.get(photos[0].id).pending is None  # its message carries it, not the reconciler
    assert not _sms_to(stack, phone) and not _mails_to(stack, email)

    _after_the_window()
    for photo in [*photos, *photos]:  # every member's copy comes back (twice): the first sends, once
        _deliver(photo, deps)
    (sms,) = _sms_to(stack, phone)
    code = _code_of(deps, photos[0])
    assert code and code != _code_of(deps, photos[0], "email")  # a page each batch: the SMS's, the email's
    assert sms["message"] == f"photolane: 3 photos processed: 3 faces, 0 people named. http://photos.example/batches/{code}"
    assert deps.links.photos_of(code) == [p.id for p in photos]  # the page's item: the members, oldest first
    (mail,) = _mails_to(stack, email)
    assert mail["subject"] == "Your 3 photos are ready"
    assert f'href="http://photos.example/batches/{_code_of(deps, photos[0], "email")}"' in mail["body"]  # the HTML part
    assert all(f"http://photos.example/photos/{photo.id}" in mail["body"] for photo in photos)
    for photo in photos:
        for channel in ("sms", "email"):
            delivery = deps.photos.get(photo.id).delivery(channel)
            assert (delivery.status, delivery.note) == ("sent", "in one message with 2 other photos")
            assert delivery.sent_at is not None and delivery.error is None
    events = [json.loads(line) for line in deps.outbox.path.read_text().splitlines()]
    assert sorted(e["photo_id"] for e in events) == sorted(p.id for p in photos)  # each photo announced once

    later = _processed_photo(deps, phone=phone, email=email)  # its batch was sent: it starts the next
    _waits(later, deps)
    assert _batch_of(deps, later) != _batch_of(deps, photos[0])
    _after_the_window()
    _deliver(later, deps)
    assert len(_sms_to(stack, phone)) == 2 and len(_mails_to(stack, email)) == 2
    assert _sms_to(stack, phone)[-1]["message"].endswith(f"http://photos.example/photos/{later.id}")  # one photo
    alone = deps.photos.get(later.id).delivery("sms")
    assert (alone.status, alone.note) == ("sent", None)
    assert deps.links.photos_of(_code_of(deps, later)) is None  # a batch of one links its photo: no page written


def test_a_batch_counts_once_against_the_recipients_limit_and_the_sms_ceiling(stack: Stack) -> None:
    deps = _batch_deps(sms_per_recipient_day=2, emails_per_recipient_day=1, sms_segments_per_hour=1,
                       sms_segments_per_day=10)
    phone, email = _unique_phone(), f"{uuid.uuid4().hex[:8]}@example.com"
    photos = [_processed_photo(deps, phone=phone, email=email) for _ in range(4)]
    for photo in photos:
        _waits(photo, deps)
    _after_the_window()
    for photo in photos:
        _deliver(photo, deps)
    assert len(_sms_to(stack, phone)) == 1 and len(_mails_to(stack, email)) == 1  # one of each: within every limit
    assert {deps.photos.get(p.id).delivery("sms").status for p in photos} == {"sent"}

    later = _processed_photo(deps, phone=phone, email=email)  # the next batch: over the email's limit of one a day
    _waits(later, deps)
    _after_the_window()
    from photolane_notifier.deliveries import BatchWaiting

    with pytest.raises(BatchWaiting):  # its SMS: over the hour's ceiling of one part, deferred, not refused
        _deliver(later, deps)
    sms = deps.photos.get(later.id).delivery("sms")
    assert sms.status == "batched" and "SMS ceiling" in sms.error
    email_delivery = deps.photos.get(later.id).delivery("email")
    assert email_delivery.status == "refused" and "1 emails a day" in email_delivery.error
    assert len(_sms_to(stack, phone)) == 1 and len(_mails_to(stack, email)) == 1


@pytest.mark.parametrize("dies_after", ["batch_delivery", "join", "claim", "put", "send", "finish",
                                        "record_batched"])
def test_a_batch_is_sent_at_most_once_whoever_dies_after_any_step(stack: Stack, dies_after: str) -> None:
    """The notifier killed right after one step of joining or flushing a batch of three (``put``: the
    page's link item); then every member's message comes again (its copy, or the original after its
    visibility timeout) to a live one."""
    from dataclasses import replace

    from photolane_common.batch_links import BatchLinks
    from photolane_common.photos import PhotoStore
    from photolane_notifier.batches import BatchModel, BatchStore
    from photolane_notifier.channels import SmsSender

    deps = _batch_deps()
    phone = _unique_phone()
    photos = [_processed_photo(deps, phone=phone) for _ in range(3)]
    dying = replace(deps, photos=PhotoStore(), batches=BatchStore(), links=BatchLinks(),
                    senders={**deps.senders, "sms": SmsSender(deps.senders["sms"].sns)})
    target = {"batch_delivery": dying.photos, "record_batched": dying.photos, "send": dying.senders["sms"],
              "put": dying.links}
    _dies_after(target.get(dies_after, dying.batches), dies_after)
    for photo in photos[:2]:
        _waits(photo, deps)
    if dies_after in ("batch_delivery", "join"):  # the third photo's joining killed half-way
        with pytest.raises(Killed):
            _deliver(photos[2], dying)
        _waits(photos[2], deps)  # its message again
        _after_the_window()
    else:
        _waits(photos[2], deps)
        _after_the_window()
        with pytest.raises(Killed):  # the first copy back flushes, and dies
            _deliver(photos[0], dying)

    key = _batch_of(deps, photos[0])
    for _ in range(2):
        for photo in photos:
            try:
                _deliver(photo, deps)
            except RetryLater:  # the dead one's claim, within its lease: back after it
                old = time.time() - deps.settings.delivery_lease_seconds - 5
                BatchModel(key).update(actions=[BatchModel.claimed_at.set(old)])
    sent = _sms_to(stack, phone)
    statuses = {deps.photos.get(p.id).delivery("sms").status for p in photos}
    code = deps.batches.get(key).code  # made once, by the claim: whoever sent, sent this one
    page = deps.links.photos_of(code)
    if dies_after in ("claim", "put", "send"):  # between claiming and recording the send: it may have gone out
        assert (statuses, len(sent)) == ({"uncertain"}, 1 if dies_after == "send" else 0)
        assert {p.id for p in photos} <= {p.id for p in deps.photos.with_uncertain_deliveries()}
        assert page == (None if dies_after == "claim" else [p.id for p in photos])
    else:
        assert (statuses, len(sent)) == ({"sent"}, 1)
        assert "3 photos processed" in sent[0]["message"]
        assert page == [p.id for p in photos]  # written before the send
    if sent:
        assert sent[0]["message"].endswith(f"/batches/{code}")


@pytest.mark.parametrize("dies_after", [None, "defer", "resume"])
def test_a_deferred_batch_links_the_page_its_claim_made_whoever_dies(stack: Stack, dies_after: str | None) -> None:
    """A batch over the SMS ceiling waits (deferred); its page is written only when it is sent, under the
    code its first claim made. Killed after deferring it: the message again resumes it, writes the page
    and sends that code. Killed after claiming it again: never sent (uncertain), the code unchanged."""
    from dataclasses import replace

    from photolane_notifier.batches import BatchModel, BatchStore

    clock = Clock()
    ceiling = {"sms_segments_per_hour": 1, "sms_segments_per_day": 10}
    single = _ceiling_deps(clock, batch_window_seconds=0, **ceiling)
    _deliver(_processed_photo(single, phone=_unique_phone()), single)  # the hour's one part
    deps = _ceiling_deps(clock, batch_window_seconds=WINDOW, **ceiling)
    phone = _unique_phone()
    photos = [_processed_photo(deps, phone=phone) for _ in range(2)]
    for photo in photos:
        _waits(photo, deps)
    _after_the_window()
    dying = replace(deps, batches=BatchStore(), ceiling=None)
    if dies_after == "defer":
        _dies_after(dying.batches, "defer")
        with pytest.raises(Killed):
            _deliver(photos[0], dying)
    else:
        _waits(photos[0], deps)  # claimed, over the ceiling: deferred
    key = _batch_of(deps, photos[0])
    code = deps.batches.get(key).code
    assert deps.batches.get(key).status == "deferred" and code
    assert deps.links.photos_of(code) is None  # not written before its send

    clock.next_hour()
    if dies_after == "resume":
        _dies_after(dying.batches, "resume")
        with pytest.raises(Killed):
            _deliver(photos[0], dying)
    for _ in range(2):
        for photo in photos:
            try:
                _deliver(photo, deps)
            except RetryLater:  # the dead one's claim, within its lease: back after it
                BatchModel(key).update(actions=[BatchModel.claimed_at.set(time.time() - 999)])
    sent = _sms_to(stack, phone)
    assert deps.batches.get(key).code == code  # resuming kept the first claim's code
    if dies_after == "resume":
        assert (deps.batches.get(key).status, sent) == ("uncertain", [])
        assert deps.links.photos_of(code) is None
    else:
        assert [m["message"] for m in sent] == [f"photolane: 2 photos processed: 2 faces, 0 people named. "
                                                 f"http://photos.example/batches/{code}"]
        assert deps.links.photos_of(code) == [p.id for p in photos]


def test_batched_messages_go_back_delayed_and_are_done_by_the_worker_loop(stack: Stack) -> None:
    from photolane_common.worker import Worker

    deps = _batch_deps(poll_wait_seconds=1)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    photos = [_processed_photo(deps, email=email) for _ in range(3)]
    sqs, url = aws.client("sqs", deps.settings), stack.resources.notifications_queue_url
    worker = Worker(sqs, url, lambda envelope: handle(envelope, deps), deps.settings)
    for photo in photos:
        sqs.send_message(QueueUrl=url, MessageBody=encode(PhotoProcessed(photo_id=photo.id, status="processed")))
    deadline = time.monotonic() + 30
    while any(getattr(deps.photos.get(p.id).delivery("email"), "status", None) != "sent" for p in photos) and \
            time.monotonic() < deadline:
        worker.poll_once()
    assert len(_mails_to(stack, email)) == 1
    while worker.poll_once():  # the other copies: found sent, done
        pass
    dlq = sqs.get_queue_url(QueueName=f"{stack.env['PHOTOLANE_NOTIFICATIONS_QUEUE']}-dlq")["QueueUrl"]
    assert not sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, VisibilityTimeout=0).get("Messages")
    assert len(_mails_to(stack, email)) == 1
