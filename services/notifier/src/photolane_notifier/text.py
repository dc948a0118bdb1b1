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
