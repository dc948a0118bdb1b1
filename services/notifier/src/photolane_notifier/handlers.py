"""What the notifier does with each photo.processed and signin.requested message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from photolane_common.domain import CHANNELS, FAILED, PROCESSED, Channel, Delivery, Photo, email_hash, owner_of
from photolane_common.limits import wait_phrase
from photolane_common.messages import Envelope, PhotoProcessed, SigninRequested
from photolane_common.metrics import NOTIFICATIONS, SIGNIN_LINKS, SMS_SEGMENTS, metrics, sms_segments

from .batching import deliver_batched
from .ceiling import Wait
from .channels import SendFailed
from .deliveries import (
    DEFERRED,
    BatchWaiting,
    DeliveryInProgress,
    NotifierDeps,
    SmsDeferred,
    names,
    pause_for_tests,
    why_not_sent,
)
from .text import Note, compose, photo_link, signin_note

log = logging.getLogger("photolane.notifier")

def handle(envelope: Envelope, deps: NotifierDeps) -> None:
    if envelope.type == "signin.requested":
        send_signin_link(envelope.id, envelope.expect(SigninRequested), deps)
    else:
        notify(envelope.expect(PhotoProcessed), deps)


def send_signin_link(message_id: str, request: SigninRequested, deps: NotifierDeps) -> None:
    """The link by email only (the channel that proves who owns the gallery), when the email has photos,
    at most once per request and once per ``PHOTOLANE_SIGNIN_INTERVAL_SECONDS``.

    The upload service sends every well-formed request here without looking (its answer takes the same
    time whether or not the email has photos); this decides. First the owner's newest photo, a read
    only, so a failed read leaves nothing behind and the message is tried again; no photos: nothing is
    sent and the message is done (deleted, never retried). Then the claim on the message's id (the same
    message delivered twice sends once), the throttle, and the sign-in links' own daily limit (photo
    notices never use it up). The link goes to the newest photo's spelling of the email. It is a
    credential, so it is neither logged nor put in the outbox or on the events topic.
    """
    owner = owner_of(request.email) or request.email
    who = {"channel": "email", "email_hash": email_hash(owner)}
    newest = deps.photos.newest_of(owner)
    if newest is None:
        log.info("signin.no_photos", extra=who)
        metrics.count(SIGNIN_LINKS, status="no_photos")
        return
    if not deps.claims.claim(f"signin:{message_id}:email"):
        log.info("signin.already_sent", extra=who)
        return
    # Its own key, not the upload service's old "signin:<hash>": a message that service sent just before
    # a deploy (throttled there already) is not throttled again here by that service's mark.
    if not deps.throttle.allow(f"signin-interval:{email_hash(owner)}", deps.settings.signin_interval_seconds):
        log.info("signin.throttled", extra=who)
        metrics.count(SIGNIN_LINKS, status="throttled")
        return
    to = newest.email or request.email
    limit = deps.settings.signin_limit
    if not deps.limiter.check(limit, to).allowed:
        refusal = f"not sent: this address had {limit.describe()} already (the limit); the count restarts at 00:00 UTC"
        log.warning("signin.refused", extra={**who, "error": refusal})
        metrics.count(SIGNIN_LINKS, status="refused")
        return
    try:
        deps.senders["email"].send(to, signin_note(request.link, request.valid_seconds // 60))
    except SendFailed as exc:
        log.warning("signin.failed", extra={**who, "error": str(exc)})
        metrics.count(SIGNIN_LINKS, status="failed")
        return
    log.info("signin.sent", extra=who)
    metrics.count(SIGNIN_LINKS, status="sent")


def notify(event: PhotoProcessed, deps: NotifierDeps) -> None:
    """At most one SMS and one email per photo, however often the message comes, whoever dies when.

    Once every channel is settled (sent, failed, refused or uncertain) the photo leaves the pending
    index; a channel claimed by another worker brings the message back when that claim's lease ends.
    An SMS over the deployment's SMS ceiling is ``deferred``: the email goes now, the photo leaves the
    pending index too (its message, never deleted before a delayed copy is queued, carries the SMS, not
    the reconciler), and the message comes back until the SMS can go. A channel waiting in a batch
    (batching.py) is carried by its message the same way, back when the batch is due.
    """
    photo = deps.photos.get(event.photo_id)
    if photo is None:
        log.warning("photo.missing")
        return
    if photo.status not in (PROCESSED, FAILED):
        # Being processed again (a retry after a failure): the newer outcome will be announced.
        log.info("photo.not_finished", extra={"status": photo.status})
        return
    link = photo_link(deps.settings.public_url, photo.id)
    note = compose(photo, link, names(photo, deps))
    held: list[DeliveryInProgress] = []
    waiting: list[SmsDeferred | BatchWaiting] = []
    for channel in CHANNELS:
        to = photo.recipient(channel)
        if to:
            try:
                _deliver(photo, channel, to, note, deps)
            except DeliveryInProgress as exc:  # the other channel is still done now
                held.append(exc)
            except (SmsDeferred, BatchWaiting) as exc:
                waiting.append(exc)
    if held:
        raise DeliveryInProgress("; ".join(map(str, held)), max(h.delay_seconds for h in held))
    if waiting:
        if photo.pending is not None:
            deps.photos.settled(photo.id)  # off the reconciler's index: this message carries the channel
        raise min(waiting, key=lambda exc: exc.delay_seconds)  # back for the first due
    _publish(deps.photos.get(photo.id) or photo, link, deps)
    deps.photos.settled(photo.id)


def _deliver(photo: Photo, channel: Channel, to: str, note: Note, deps: NotifierDeps) -> None:
    done = photo.delivery(channel)
    if (done is None and deps.settings.batch_window_seconds) or (done is not None and done.status == "batched"):

        deliver_batched(photo, channel, to, deps)
        return
    if done is not None and done.status == DEFERRED:
        _resume(photo, channel, done, note, deps)
        return
    if done is not None and done.status != "sending":
        return
    claimed_at = None if done is not None else deps.photos.claim_delivery(photo.id, channel, to)
    if claimed_at is None:
        _claimed_by_another(photo, channel, note, deps)
        return
    pause_for_tests(channel, to, deps)
    if _too_late(photo, channel, to, claimed_at, deps):
        return
    refusal = why_not_sent(channel, to, deps)
    if refusal:
        deps.photos.finish_delivery(photo.id, channel, to, refusal, refused=True)
        log.warning("notification.refused", extra={"channel": channel, "error": refusal})
        metrics.count(NOTIFICATIONS, channel=channel, status="refused")
        return
    if channel == "sms":
        wait = deps.ceiling.take(sms_segments(note.sms))
        if wait is not None:
            _wait_or_refuse(photo, channel, to, claimed_at, wait, deps, first=True)
            return  # refused, or no longer ours (marked uncertain meanwhile): never sent
    _send(photo, channel, to, note, deps)


def _wait_or_refuse(photo: Photo, channel: Channel, to: str, claimed_at: datetime, wait: Wait, deps: NotifierDeps,
                    first: bool) -> None:
    """Over the ceiling: deferred (raises SmsDeferred) when its window reopens within
    PHOTOLANE_SMS_MAX_WAIT_SECONDS of its first claim, else refused now (0: never waits). Either write
    is conditional on the delivery still being ours (``claimed_at``: the first claim)."""
    most = deps.settings.sms_max_wait_seconds
    if wait.until - claimed_at.timestamp() > most:
        longest = f"{wait_phrase(most).removeprefix('in ')}, the most an SMS waits" if most else "SMS never wait"
        reason = f"not sent: {wait.full} ({longest})"
        if deps.photos.refuse_deferred(photo.id, channel, claimed_at, reason):
            log.warning("notification.refused", extra={"channel": channel, "error": reason})
            metrics.count(NOTIFICATIONS, channel=channel, status="refused")
        return
    if deps.photos.defer_delivery(photo.id, channel, claimed_at, wait.until_datetime, wait.reason):
        if first:
            log.warning("notification.deferred", extra={"channel": channel, "error": wait.reason})
            metrics.count(NOTIFICATIONS, channel=channel, status=DEFERRED)
        else:
            log.info("notification.still_deferred", extra={"channel": channel, "error": wait.reason})
        raise SmsDeferred(wait.reason, _wait_left(wait.until, deps))


def _claimed_by_another(photo: Photo, channel: Channel, note: Note, deps: NotifierDeps) -> None:
    current = (deps.photos.get(photo.id) or photo).delivery(channel)
    if current is not None and current.status == "sending":
        _held(photo, channel, current.claimed_at, deps)
    elif current is not None and current.status == DEFERRED:
        _resume(photo, channel, current, note, deps)


def _resume(photo: Photo, channel: Channel, waiting: Delivery, note: Note, deps: NotifierDeps) -> None:
    """A deferred SMS: still waiting (its window not over: back later, nothing counted), waited too
    long (refused), over the ceiling again (deferred to the next window), or claimed again and sent.

    The ceiling is counted before the claim, so a kill between the two loses nothing (the parts are
    counted for an SMS still deferred: the ceiling errs on the side of spending less). Each write is
    conditional on the delivery being deferred since the same first claim: of two copies of the
    message, one claims it; the other finds it ``sending`` and comes back after the lease.
    """
    now = deps.ceiling.now()
    waited = now - waiting.claimed_at.timestamp()
    most = deps.settings.sms_max_wait_seconds
    if waited > most:  # its notifier was away longer than the wait (the windows reopened meanwhile)
        reason = (f"not sent: it waited {wait_phrase(int(waited)).removeprefix('in ')} for the deployment's "
                  f"SMS ceiling, longer than {wait_phrase(most).removeprefix('in ')} (the most an SMS waits)")
        if deps.photos.refuse_deferred(photo.id, channel, waiting.claimed_at, reason):
            log.warning("notification.refused", extra={"channel": channel, "error": reason})
            metrics.count(NOTIFICATIONS, channel=channel, status="refused")
        return
    if waiting.until is not None and waiting.until.timestamp() > now:
        raise SmsDeferred(waiting.error or "deferred", _wait_left(waiting.until.timestamp(), deps))
    wait = deps.ceiling.take(sms_segments(note.sms))
    if wait is not None:
        _wait_or_refuse(photo, channel, waiting.to, waiting.claimed_at, wait, deps, first=False)
        return
    claimed_at = deps.photos.resume_delivery(photo.id, channel, waiting.claimed_at)
    if claimed_at is None:  # another copy of the message took it (or refused it) first
        current = (deps.photos.get(photo.id) or photo).delivery(channel)
        if current is not None and current.status == "sending":
            _held(photo, channel, current.claimed_at, deps)
        return
    pause_for_tests(channel, waiting.to, deps)
    if not _too_late(photo, channel, waiting.to, claimed_at, deps):
        _send(photo, channel, waiting.to, note, deps)


def _wait_left(until: float, deps: NotifierDeps) -> float:
    """Seconds to the window's end, by the ceiling's clock (the worker waits at most 15 minutes a time)."""
    return max(1.0, until - deps.ceiling.now())


def _too_late(photo: Photo, channel: Channel, to: str, claimed_at: datetime, deps: NotifierDeps) -> bool:
    if _lease_left(claimed_at, deps) >= deps.settings.send_bound_seconds:
        return False
    # Too late to send within the lease (a slow store): another worker may be marking it uncertain.
    error = "not sent: the claim's lease ran out before the send could start"
    deps.photos.finish_delivery(photo.id, channel, to, error)
    log.error("notification.late", extra={"channel": channel, "error": error})
    metrics.count(NOTIFICATIONS, channel=channel, status="late")
    return True


def _send(photo: Photo, channel: Channel, to: str, note: Note, deps: NotifierDeps) -> None:
    error = None
    try:
        deps.senders[channel].send(to, note)
    except SendFailed as exc:
        error = str(exc)
    deps.photos.finish_delivery(photo.id, channel, to, error)
    log.info("notification.sent" if error is None else "notification.failed",
             extra={"channel": channel, "error": error})
    metrics.count(NOTIFICATIONS, channel=channel, status="sent" if error is None else "failed")
    if channel == "sms" and error is None:
        metrics.count(SMS_SEGMENTS, sms_segments(note.sms))


def _lease_left(claimed_at: datetime, deps: NotifierDeps) -> float:
    lease_end = claimed_at + timedelta(seconds=deps.settings.delivery_lease_seconds)
    return (lease_end - datetime.now(UTC)).total_seconds()


def _held(photo: Photo, channel: Channel, claimed_at: datetime, deps: NotifierDeps) -> None:
    """Someone else's claim: alive, come back when its lease ends; expired, its holder died mid-send.

    A send that may or may not have happened is never repeated: it becomes ``uncertain`` (one
    conditional write, so one worker records it) and the photo says so.
    """
    left = _lease_left(claimed_at, deps)
    if left > 0:
        raise DeliveryInProgress(f"{channel} to this photo is being sent by another worker", left + 1)
    if deps.photos.mark_uncertain(photo.id, channel, timedelta(seconds=deps.settings.delivery_lease_seconds)):
        log.warning("notification.uncertain", extra={"channel": channel, "claimed_at": claimed_at.isoformat()})
        metrics.count(NOTIFICATIONS, channel=channel, status="uncertain")


def _publish(photo: Photo, link: str, deps: NotifierDeps) -> None:
    event = _event(photo, link)
    if deps.outbox is not None and deps.outbox.append(event):
        log.info("outbox.appended", extra={"path": str(deps.outbox.path)})
    if deps.topic is not None:
        deps.topic.publish(event)


def _event(photo: Photo, link: str) -> dict[str, Any]:
    return {
        "key": f"{photo.id}:{photo.status}",
        "type": "photo.processed",
        "photo_id": photo.id,
        "status": photo.status,
        "error": photo.error,
        "faces": len(photo.faces),
        "link": link,
        "notifications": [
            {"channel": d.channel, "to": d.to, "status": d.status, "error": d.error} for d in photo.deliveries
        ],
    }
