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


def summary(photo: Photo) -> str:
    if photo.status != PROCESSED:
        return f"We could not process your photo: {photo.error or 'unknown error'}."
    count = len(photo.faces)
    faces = "no faces" if count == 0 else f"{count} face" + ("" if count == 1 else "s")
    return f"Your photo is ready: flipped copy, thumbnail and {faces} found."


def compose(photo: Photo, link: str) -> Note:
    line = summary(photo)
    subject = "Your photo is ready" if photo.status == PROCESSED else "We could not process your photo"
    name = f" ({photo.filename})" if photo.filename else ""
    text = f"Hello,\n\n{line}\n\nSee it here{name}: {link}\n\n— photolane\n"
    body = (
        f"<p>Hello,</p><p>{html.escape(line)}</p>"
        f'<p><a href="{html.escape(link, quote=True)}">See your photo{html.escape(name)}</a></p><p>— photolane</p>'
    )
    return Note(sms=f"photolane: {line} {link}", subject=subject, text=text, html=body)
