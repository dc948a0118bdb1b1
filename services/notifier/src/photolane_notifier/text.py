"""What the uploader is told, pure: from the photo record to SMS and email text."""

from __future__ import annotations

import html
from dataclasses import dataclass

from photolane_common.domain import PROCESSED, Photo


@dataclass(frozen=True)
class Note:
    sms: str
    subject: str
    text: str
    html: str


def photo_link(public_url: str, photo_id: str) -> str:
    return f"{public_url.rstrip('/')}/photos/{photo_id}"


def joined(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def summary(photo: Photo, names: list[str]) -> str:
    if photo.status != PROCESSED:
        return f"We could not process your photo: {photo.error or 'unknown error'}."
    count = len(photo.faces)
    faces = "no faces" if count == 0 else f"{count} face" + ("" if count == 1 else "s")
    if not names:
        return f"Your photo is ready: flipped copy, thumbnail and {faces} found."
    verb = "is" if len(names) == 1 else "are"
    return f"{joined(names)} {verb} in your photo ({faces} found); the flipped copy and thumbnail are ready."


def compose(photo: Photo, link: str, names: list[str] | None = None) -> Note:
    """``names``: the people named in the photo, in the order their faces appear."""
    line = summary(photo, names or [])
    subject = "Your photo is ready" if photo.status == PROCESSED else "We could not process your photo"
    # Nothing the uploader typed goes in (not the file name): anyone can upload with any address, so
    # uploader text in our messages would let them send their words to strangers under our name.
    text = f"Hello,\n\n{line}\n\nSee it here: {link}\n\n— photolane\n"
    body = (
        f"<p>Hello,</p><p>{html.escape(line)}</p>"
        f'<p><a href="{html.escape(link, quote=True)}">See your photo</a></p><p>— photolane</p>'
    )
    return Note(sms=f"photolane: {line} {link}", subject=subject, text=text, html=body)


def gallery_link(public_url: str) -> str:
    """The uploader's gallery (its sign-in page without a session): only for a batch without a page."""
    return f"{public_url.rstrip('/')}/gallery"


def batch_link(public_url: str, code: str) -> str:
    """A batch's page: its photos, for whoever holds the message (no sign-in: a phone is enough)."""
    return f"{public_url.rstrip('/')}/batches/{code}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def batch_summary(photos: list[Photo], people_named: int) -> str:
    """'18 photos processed: 41 faces, 12 people named' (``people_named``: different people, all photos)."""
    processed = [p for p in photos if p.status == PROCESSED]
    faces = sum(len(p.faces) for p in processed)
    found = f"{_count(faces, 'face')}, {people_named} {'person' if people_named == 1 else 'people'} named"
    failed = len(photos) - len(processed)
    if not failed:
        return f"{len(photos)} photos processed: {found}"
    return f"{len(photos)} photos: {len(processed)} processed ({found}), {failed} could not be processed"


def compose_batch(photos: list[Photo], people_named: int, link: str, photo_links: list[str]) -> Note:
    """One message for several photos of one recipient: the SMS a line and the batch page's link (one
    part for a short link), the email the same line, that link and each photo's own link."""
    line = batch_summary(photos, people_named)
    ready = sum(p.status == PROCESSED for p in photos)
    subject = f"Your {len(photos)} photos are ready" if ready == len(photos) else f"Your {len(photos)} photos"
    listed = "\n".join(f"- {each}" for each in photo_links)
    text = f"Hello,\n\n{line}.\n\nSee them here: {link}\n\nEach photo:\n{listed}\n\n— photolane\n"
    items = "".join(f'<li><a href="{html.escape(each, quote=True)}">{html.escape(each)}</a></li>'
                    for each in photo_links)
    body = (f"<p>Hello,</p><p>{html.escape(line)}.</p>"
            f'<p><a href="{html.escape(link, quote=True)}">See your photos</a></p><ul>{items}</ul><p>— photolane</p>')
    # GSM-7 only (no dash): a UCS-2 character would make each SMS part 70 characters instead of 160.
    return Note(sms=f"photolane: {line}. {link}", subject=subject, text=text, html=body)


def signin_note(link: str, minutes: int) -> Note:
    """The sign-in link (it opens the gallery of the email it was sent to)."""
    line = f"Here is your link to open your photolane gallery. It works for {minutes} minutes."
    text = f"Hello,\n\n{line}\n\n{link}\n\nIf you did not ask for it, ignore this message.\n\n— photolane\n"
    body = (
        f"<p>Hello,</p><p>{html.escape(line)}</p>"
        f'<p><a href="{html.escape(link, quote=True)}">Open your gallery</a></p>'
        "<p>If you did not ask for it, ignore this message.</p><p>— photolane</p>"
    )
    return Note(sms=f"photolane: your gallery sign-in link (valid {minutes} min): {link}",
                subject="Your photolane sign-in link", text=text, html=body)
