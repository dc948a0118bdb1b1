"""One SMS and one email for a recipient's photos of a few minutes (``PHOTOLANE_BATCH_WINDOW_SECONDS``).

A CLI upload of 18 photos used to send 18 emails and 18 SMS. Now the first photo for a recipient (on a
channel) opens a batch (batches.py), due a window later; later photos join it while it is open. Each
photo's delivery says ``batched`` (and in which batch) and its message comes back as a delayed copy when
the batch is due (the worker's ``RetryLater``: the original is deleted only once the copy is queued). The
first copy back claims the batch (one conditional write: from then on nobody joins it, so the members
are final; the same write gives it its page's code), writes the page's link item (``batch-link:<code>``:
the members, so ``/batches/<code>`` lists them to whoever holds the message, a phone's owner included),
sends one message listing them, records the outcome on the batch, then on every member
("sent" with "in one message with 17 other photos"). The other copies find it done and record their own
photo (a no-op by then). A photo whose batch was claimed before it joined starts, or joins, the next.

At most once under kill -9, as single photos are: the claim comes before the send; a batch found
``sending`` after the lease is ``uncertain`` (never sent again) and so is each member; a copy that finds
the claim alive comes back shortly. The per-recipient daily limit counts the batch once, and the SMS
ceiling counts its parts once: over it, the batch is ``deferred`` (its members stay ``batched``, saying
why) and sent, once, when the window reopens, or refused after ``PHOTOLANE_SMS_MAX_WAIT_SECONDS``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from photolane_common.domain import Channel, Photo
from photolane_common.limits import wait_phrase
from photolane_common.logs import photo_context
from photolane_common.metrics import NOTIFICATIONS, SMS_SEGMENTS, metrics, sms_segments

from .batches import DEFERRED, OPEN, SENDING, Batch
from .ceiling import Wait
from .channels import SendFailed
from .deliveries import BatchWaiting, NotifierDeps, names, pause_for_tests, why_not_sent
from .text import Note, batch_link, compose, compose_batch, gallery_link, photo_link

log = logging.getLogger("photolane.notifier")

BATCHED = "batched"
JOIN_ATTEMPTS = 5  # each failed attempt means another worker moved first; a few settle any race
RECHECK_SECONDS = 5  # a batch being sent by another worker: look again this soon (a send takes a second)


def deliver_batched(photo: Photo, channel: Channel, to: str, deps: NotifierDeps) -> None:
    """Join (or find) the photo's batch, then move the batch on: wait for it (BatchWaiting), send it,
    or record what became of it on this photo."""
    key = _join(photo, channel, to, deps)
    if key is None:
        return  # no longer batched (settled by another path meanwhile)
    batch = deps.batches.get(key)
    if batch is not None and batch.status == OPEN:
        batch = _due(batch, deps)
    if batch is None:
        return
    if batch.status == SENDING:
        _held(batch, channel, deps)
    elif batch.status == DEFERRED:
        _resume(batch, channel, to, deps)
    else:
        _record(batch, channel, [photo.id], deps)


def _join(photo: Photo, channel: Channel, to: str, deps: NotifierDeps) -> str | None:
    """The key of the batch the photo is in, joining one if need be. The photo's record names its batch
    first, then the batch lists the photo: a kill between the two is finished by the message's next
    delivery, and a photo moves to another batch only from one that closed without it (so it is in one
    batch that is sent, never two)."""
    done = photo.delivery(channel)
    previous = done.batch if done is not None else None
    for _ in range(JOIN_ATTEMPTS):
        if previous is not None:
            batch = deps.batches.get(previous)
            if batch is not None and (photo.id in batch.photos or
                                      (batch.status == OPEN and deps.batches.join(previous, photo.id))):
                return previous
        key = deps.batches.open_for(channel, to, deps.settings.batch_window_seconds)
        if deps.photos.batch_delivery(photo.id, channel, to, key, previous, _waiting_note(deps)):
            if deps.batches.join(key, photo.id):
                log.info("notification.batched", extra={"channel": channel, "batch": key})
                return key
            previous = key  # claimed just now, without it: the next one
            continue
        current = (deps.photos.get(photo.id) or photo).delivery(channel)  # another copy of the message moved it
        if current is None or current.status != BATCHED:
            return None
        previous = current.batch
    raise RuntimeError(f"{channel}: no batch could be joined in {JOIN_ATTEMPTS} attempts (retried)")


def _waiting_note(deps: NotifierDeps) -> str:
    window = wait_phrase(deps.settings.batch_window_seconds).removeprefix("in ")
    return f"to go in one message with the other photos sent to this recipient within {window}"


def _due(batch: Batch, deps: NotifierDeps) -> Batch | None:
    """An open batch: not yet due, back when it is; due, claimed and sent by this caller (None), or
    already claimed by another (its state now)."""
    left = batch.due - deps.batches.clock()
    if left > 0:
        raise BatchWaiting(f"goes in one message with the recipient's other photos in {left:.0f} s", left)
    claimed_at = deps.batches.claim(batch.key)
    if claimed_at is None:
        return deps.batches.get(batch.key)
    claimed = Batch(batch.key, batch.photos, SENDING, batch.due, claimed_at)
    _flush(deps.batches.get(batch.key) or claimed, claimed_at, deps, first=True)
    return None


def _flush(batch: Batch, claimed_at: float, deps: NotifierDeps, first: bool) -> None:
    """Send the claimed batch, once: the limits first (the first claim only), then the SMS ceiling."""
    members = _members(batch, deps)
    if not members:
        deps.batches.finish(batch.key, claimed_at, "refused", "not sent: its photos were deleted")
        return
    channel = _channel(batch)
    to = members[0].recipient(channel) or ""
    note = _note(members, batch.code, deps)
    refusal = why_not_sent(channel, to, deps) if first else None
    if refusal:
        _finish(batch, claimed_at, "refused", refusal, deps)
        return
    if channel == "sms":
        wait = deps.ceiling.take(sms_segments(note.sms))
        if wait is not None:
            _wait_or_refuse(batch, claimed_at, wait, deps)
            return
    if len(members) > 1 and batch.code:  # before the send: no message links a page that is not there
        deps.links.put(batch.code, [photo.id for photo in members], batch.expires_at)
    pause_for_tests(channel, to, deps)
    if _lease_left(claimed_at, deps) < deps.settings.send_bound_seconds:
        _finish(batch, claimed_at, "failed", "not sent: the claim's lease ran out before the send could start", deps)
        return
    error = None
    try:
        deps.senders[channel].send(to, note)
    except SendFailed as exc:
        error = str(exc)
    _finish(batch, claimed_at, "failed" if error else "sent", error, deps)
    if channel == "sms" and error is None:
        metrics.count(SMS_SEGMENTS, sms_segments(note.sms))


def _members(batch: Batch, deps: NotifierDeps) -> list[Photo]:
    """The batch's photos still there (one deleted meanwhile is not announced), oldest first."""
    photos = deps.photos.many(sorted(batch.photos))
    return sorted(photos.values(), key=lambda p: (p.created_at, p.id))


def _channel(batch: Batch) -> Channel:
    return "sms" if batch.key.split(":")[1] == "sms" else "email"


def _note(members: list[Photo], code: str | None, deps: NotifierDeps) -> Note:
    """One photo: its own message, as without batching; more: one line for all, and the batch's page
    (the gallery only for a batch claimed without a code, which no notifier of this version makes)."""
    public_url = deps.settings.public_url
    if len(members) == 1:
        return compose(members[0], photo_link(public_url, members[0].id), names(members[0], deps))
    people = {face.person_id for photo in members for face in photo.faces if face.person_id}
    link = batch_link(public_url, code) if code else gallery_link(public_url)
    return compose_batch(members, len(people), link, [photo_link(public_url, photo.id) for photo in members])


def _wait_or_refuse(batch: Batch, claimed_at: float, wait: Wait, deps: NotifierDeps) -> None:
    """Over the SMS ceiling: deferred when its window reopens within PHOTOLANE_SMS_MAX_WAIT_SECONDS of
    the claim, else refused (as a single photo's SMS, handlers._wait_or_refuse)."""
    most = deps.settings.sms_max_wait_seconds
    if wait.until - claimed_at > most:
        longest = f"{wait_phrase(most).removeprefix('in ')}, the most an SMS waits" if most else "SMS never wait"
        _finish(batch, claimed_at, "refused", f"not sent: {wait.full} ({longest})", deps)
        return
    if deps.batches.defer(batch.key, claimed_at, wait.until, wait.reason):
        log.warning("notification.deferred", extra={"channel": "sms", "error": wait.reason, "batch": batch.key})
        metrics.count(NOTIFICATIONS, channel="sms", status="deferred")
        _record(Batch(batch.key, batch.photos, BATCHED, batch.due, error=wait.reason), "sms", sorted(batch.photos),
                deps)
        raise BatchWaiting(wait.reason, max(1.0, wait.until - deps.ceiling.now()))


def _resume(batch: Batch, channel: Channel, to: str, deps: NotifierDeps) -> None:
    """A deferred batch: still waiting, waited too long (refused), or counted again and sent."""
    now = deps.ceiling.now()
    assert batch.claimed_at is not None
    waited, most = now - batch.claimed_at, deps.settings.sms_max_wait_seconds
    if waited > most:
        reason = (f"not sent: it waited {wait_phrase(int(waited)).removeprefix('in ')} for the deployment's "
                  f"SMS ceiling, longer than {wait_phrase(most).removeprefix('in ')} (the most an SMS waits)")
        _finish(batch, batch.claimed_at, "refused", reason, deps)
        return
    if batch.until is not None and batch.until > now:
        raise BatchWaiting(batch.error or "deferred", max(1.0, batch.until - now))
    claimed_at = deps.batches.resume(batch.key, batch.claimed_at)
    if claimed_at is None:  # another copy took it first
        current = deps.batches.get(batch.key)
        if current is not None and current.status == SENDING:
            _held(current, channel, deps)
        return
    _flush(deps.batches.get(batch.key) or batch, claimed_at, deps, first=False)  # read again: its code


def _held(batch: Batch, channel: Channel, deps: NotifierDeps) -> None:
    """Being sent by another worker: back shortly; its claim past the lease: that worker died, maybe
    after sending, so the batch and each member are ``uncertain``, never sent again."""
    assert batch.claimed_at is not None
    left = _lease_left(batch.claimed_at, deps)
    if left > 0:
        raise BatchWaiting(f"{channel} of this photo's batch is being sent by another worker",
                           min(left + 1, RECHECK_SECONDS))
    error = "may or may not have gone out: its notifier stopped between claiming and recording the send"
    if deps.batches.finish(batch.key, batch.claimed_at, "uncertain", error):
        log.warning("notification.uncertain", extra={"channel": channel, "batch": batch.key})
        metrics.count(NOTIFICATIONS, channel=channel, status="uncertain")
    _record(deps.batches.get(batch.key) or batch, channel, sorted(batch.photos), deps)


def _finish(batch: Batch, claimed_at: float, status: str, error: str | None, deps: NotifierDeps) -> None:
    """The batch's outcome, then each member's (only the claim's holder writes it; the members' own
    messages record it again, a no-op, if this one dies in between)."""
    channel = _channel(batch)
    if not deps.batches.finish(batch.key, claimed_at, status, error):
        return  # no longer ours (marked uncertain meanwhile)
    metrics.count(NOTIFICATIONS, channel=channel, status=status)
    _record(deps.batches.get(batch.key) or batch, channel, sorted(batch.photos), deps)


def _record(batch: Batch, channel: Channel, photo_ids: list[str], deps: NotifierDeps) -> None:
    """Write the batch's state on these members' deliveries, each saying what happened to it."""
    others = len(batch.photos) - 1
    note = f"in one message with {others} other photo{'' if others == 1 else 's'}" if others > 0 else None
    sent_at = datetime.fromtimestamp(batch.sent_at, UTC) if batch.sent_at is not None else None
    event = {"sent": "notification.sent", "failed": "notification.failed", "refused": "notification.refused"}
    for photo_id in photo_ids:
        if deps.photos.record_batched(photo_id, channel, batch.key, batch.status, batch.error, note, sent_at):
            with photo_context(photo_id):  # a line a photo: make run's console says it on each photo's line
                log.info(event.get(batch.status, f"notification.{batch.status}"),
                         extra={"channel": channel, "error": batch.error, "batch": batch.key,
                                "batch_photos": len(batch.photos)})


def _lease_left(claimed_at: float, deps: NotifierDeps) -> float:
    return claimed_at + deps.settings.delivery_lease_seconds - deps.batches.clock()
