"""The local inbox: ``GET /dev/inbox``, the SMS and emails photolane has sent, newest first.

Only in local mode. It shows sign-in links, which are credentials, so it answers only when all of
these hold: ``PHOTOLANE_DEV_INBOX`` is true (``make run`` sets it; off by default), the AWS endpoint is
a stand-in on this machine (``AWS_ENDPOINT_URL`` on a loopback address: never AWS), and the request
comes from this machine. Otherwise the route does not exist: a 404 like any unknown path.

Where the messages come from: the stand-in (moto server) records each SMS (``sns.SMS``:
``phone_number``, ``message``) and email (``ses.Message``: ``source``, ``destinations``, ``subject``,
``body``, the HTML part when there is one) in the order it was asked to send them, and serves them at
``/moto-api/data.json``. That is the one place holding the text with the sign-in link: the notifier
keeps that credential out of its outbox, its logs and the events topic. moto records no time, so a
message's time comes from what it links to: a sign-in link's token (signed with the session key, it
says when it was made, a moment before it was sent, and so until when it works), a photo link's
delivery record (when that channel's message was sent). The messages last as long as the stand-in
does: a new ``make run`` starts with an empty inbox (the links sent before still work until used or
expired).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, has_request_context, jsonify, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .deps import current_deps
from .handlers import UploadDeps
from .settings import UploadSettings
from .signin import SALT

log = logging.getLogger("photolane.upload.inbox")

inbox = Blueprint("inbox", __name__)

SHOWN = 100  # the newest messages a page shows
READ_TIMEOUT_SECONDS = 10
URL = re.compile(r"https?://[^\s<>\"']+")
PHOTO_PATH = re.compile(r"/photos/([^/?#]+)$")
BATCH_PATH = re.compile(r"/batches/([^/?#]+)$")  # one message for several photos: dated by its first
SIGNIN_PATH = "/signin/open"
EARLIEST = datetime.min.replace(tzinfo=UTC)


# -- the gate --------------------------------------------------------------------------------------


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def enabled(settings: UploadSettings) -> bool:
    """Local mode: the setting is on and the AWS endpoint is a stand-in on this machine."""
    endpoint = settings.aws_endpoint_url
    if not settings.dev_inbox or not endpoint:
        return False
    parts = urlsplit(endpoint)
    return parts.scheme in ("http", "https") and _loopback(parts.hostname)


def _shown_here() -> bool:
    """The inbox for this request: local mode, and a browser (or the CLI) on this machine."""
    return enabled(current_deps().settings) and _loopback(request.remote_addr)


# -- the messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A run of a message's text, or a link (``href`` is set for http and https links only)."""

    text: str
    href: str | None = None


@dataclass
class Message:
    channel: str  # "sms" | "email"
    to: list[str]
    subject: str | None
    paragraphs: list[list[Part]]
    order: int  # where the stand-in recorded it among the messages of its channel
    sender: str | None = None
    sent_at: datetime | None = None  # None: nothing it links to tells (a message photolane did not send)
    signin: bool = False  # it carries a sign-in link
    expires_at: datetime | None = None  # a sign-in link's end

    @property
    def links(self) -> list[Part]:
        return [part for paragraph in self.paragraphs for part in paragraph if part.href]

    @property
    def sent_iso(self) -> str | None:
        return self.sent_at.isoformat(timespec="seconds") if self.sent_at else None

    @property
    def expires_iso(self) -> str | None:
        return self.expires_at.isoformat(timespec="seconds") if self.expires_at else None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    def text(self) -> str:
        """The message as plain text: a link as its URL (after its words, when they differ)."""
        def shown(part: Part) -> str:
            if not part.href or part.text == part.href:
                return part.text
            return f"{part.text}: {part.href}"

        return "\n\n".join("".join(shown(part) for part in paragraph) for paragraph in self.paragraphs)

    def as_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "to": self.to, "from": self.sender, "subject": self.subject,
                "sent_at": self.sent_iso, "text": self.text(), "signin": self.signin,
                "expires_at": self.expires_iso, "links": [{"text": p.text, "url": p.href} for p in self.links]}


def _web(href: str) -> bool:
    return urlsplit(href).scheme in ("http", "https")


def linked(text: str) -> list[Part]:
    """Plain text with its http(s) URLs as links (a sentence's final stop is not part of the URL)."""
    parts, start = [], 0
    for match in URL.finditer(text):
        url = match.group().rstrip(".,;:!?)]")
        if match.start() > start:
            parts.append(Part(text[start:match.start()]))
        parts.append(Part(url, url))
        start = match.start() + len(url)
    if start < len(text):
        parts.append(Part(text[start:]))
    return parts


def text_paragraphs(text: str) -> list[list[Part]]:
    """A plain-text body: paragraphs at blank lines (a single line break stays in its paragraph)."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return [linked(block) for block in blocks if block]


class _HtmlBody(HTMLParser):
    """An HTML body as paragraphs of text and links; every tag but ``<a href>`` and breaks dropped."""

    BREAKS = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "hr",
                        "h1", "h2", "h3", "h4", "h5", "h6"})
    HIDDEN = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[Part]] = [[]]
        self.href: str | None = None  # inside <a href>
        self.words: list[str] = []  # the link's text so far
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "a":
            self.href, self.words = (dict(attrs).get("href") or "").strip(), []
        elif tag in self.BREAKS:
            self.paragraphs.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "a" and self.href is not None:
            words = " ".join("".join(self.words).split())
            href, self.href = self.href, None
            if _web(href):
                self.paragraphs[-1].append(Part(words or href, href))
            elif words:
                self.paragraphs[-1].append(Part(words))
        elif tag in self.BREAKS:
            self.paragraphs.append([])

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.href is not None:
            self.words.append(data)
        else:
            self.paragraphs[-1].append(Part(data))

    def result(self) -> list[list[Part]]:
        """The paragraphs with HTML's white space: runs of it one space, none at a paragraph's ends."""
        found = []
        for paragraph in self.paragraphs:
            merged: list[Part] = []
            for part in paragraph:
                if not part.href and merged and not merged[-1].href:
                    merged[-1] = Part(merged[-1].text + part.text)
                else:
                    merged.append(part)
            merged = [part if part.href else Part(re.sub(r"\s+", " ", part.text)) for part in merged]
            if merged and not merged[0].href:
                merged[0] = Part(merged[0].text.lstrip())
            if merged and not merged[-1].href:
                merged[-1] = Part(merged[-1].text.rstrip())
            merged = [part for part in merged if part.href or part.text]
            if merged:
                found.append(merged)
        return found


def html_paragraphs(html: str) -> list[list[Part]]:
    parser = _HtmlBody()
    parser.feed(html)
    parser.close()
    return parser.result()


def body_paragraphs(body: str) -> list[list[Part]]:
    """An email's body as the stand-in kept it: the HTML part when the email had one, else the text."""
    return html_paragraphs(body) if re.search(r"<(?:p|a|br|div|html|body)\b", body, re.IGNORECASE) \
        else text_paragraphs(body)


def messages_of(data: dict[str, Any]) -> list[Message]:
    """The SMS and emails of the stand-in's ``/moto-api/data.json``, in the order it recorded them."""
    found = []
    for order, sms in enumerate(data.get("sns", {}).get("SMS", [])):
        found.append(Message("sms", [str(sms.get("phone_number", ""))], None,
                             text_paragraphs(str(sms.get("message", ""))), order))
    for order, mail in enumerate(data.get("ses", {}).get("Message", [])):
        destinations = mail.get("destinations") or {}
        to = [str(a) for kind in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(kind, [])]
        found.append(Message("email", to, str(mail.get("subject") or "") or None,
                             body_paragraphs(str(mail.get("body") or "")), order,
                             sender=mail.get("source")))
    return found


def dated(messages: list[Message], deps: UploadDeps) -> None:
    """Each message's time, from what it links to (see the module's docstring)."""
    settings = deps.settings
    assert settings.session_key is not None
    tokens = URLSafeTimedSerializer(settings.session_key.get_secret_value(), salt=SALT)
    by_photo: dict[str, list[Message]] = {}
    for message in messages:
        for link in message.links:
            parts = urlsplit(link.href or "")
            if parts.path.endswith(SIGNIN_PATH) and parts.fragment:
                message.signin = True
                try:
                    _, made = tokens.loads(parts.fragment, return_timestamp=True)
                except BadSignature:  # made with another session key, or cut
                    continue
                message.sent_at = made
                message.expires_at = made + timedelta(seconds=settings.signin_max_age_seconds)
            elif match := PHOTO_PATH.search(parts.path):
                by_photo.setdefault(match.group(1), []).append(message)
            elif (match := BATCH_PATH.search(parts.path)) and (ids := deps.batch_links.photos_of(match.group(1))):
                by_photo.setdefault(ids[0], []).append(message)  # each member records the batch's sending
    if not by_photo:
        return
    photos = deps.photos.many(by_photo)
    for photo_id, linking in by_photo.items():
        photo = photos.get(photo_id)
        for message in linking:
            delivery = photo.delivery(message.channel) if photo else None  # type: ignore[arg-type]
            if delivery is not None and delivery.sent_at is not None and message.sent_at is None:
                message.sent_at = delivery.sent_at


def read_standin(endpoint: str) -> dict[str, Any]:
    # The endpoint is an http(s) URL on this machine (enabled() checked it).
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=READ_TIMEOUT_SECONDS) as answer:
        return json.load(answer)


def newest(deps: UploadDeps, limit: int = SHOWN) -> tuple[list[Message], int]:
    """The newest ``limit`` messages, newest first, and how many the stand-in holds."""
    assert deps.settings.aws_endpoint_url is not None
    messages = messages_of(read_standin(deps.settings.aws_endpoint_url))
    # The newest of each channel (the stand-in keeps each channel's in the order sent), then both by time.
    recent = [m for channel in ("sms", "email") for m in [m for m in messages if m.channel == channel][-limit:]]
    dated(recent, deps)
    # To the second (a token tells no more); within one second, each channel in the order it was sent.
    recent.sort(key=lambda m: ((m.sent_at or EARLIEST).replace(microsecond=0), m.order), reverse=True)
    return recent[:limit], len(messages)


# -- the page --------------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@inbox.get("/dev/inbox")
def page() -> Any:
    """The inbox page (JSON for ``Accept: application/json``: ``photolane inbox``); 404 outside local mode."""
    if not _shown_here():
        abort(404)
    deps = current_deps()
    try:
        messages, total = newest(deps)
    except (OSError, ValueError) as exc:  # the stand-in away, or an answer that is not its JSON
        log.warning("inbox.unreadable", extra={"error": str(exc)})
        error = (f"The AWS stand-in at {deps.settings.aws_endpoint_url} could not be read ({exc}); "
                 "try again in a moment.")
        if _wants_json():
            return jsonify(error=error), 503, {"Retry-After": "5"}
        return render_template("inbox.html", messages=[], total=0, error=error,
                               minutes=deps.settings.signin_max_age_seconds // 60), 503, {"Retry-After": "5"}
    if _wants_json():
        return jsonify(messages=[m.as_json() for m in messages], shown=len(messages), total=total)
    return render_template("inbox.html", messages=messages, total=total, error=None,
                           minutes=deps.settings.signin_max_age_seconds // 60)


@inbox.app_context_processor
def local_inbox() -> dict[str, Any]:
    """``dev_inbox`` for every page: in local mode the sign-in page points at the inbox."""
    if not has_request_context():
        return {}
    try:
        return {"dev_inbox": _shown_here()}
    except KeyError:  # an app without photolane's deps (never in the service)
        return {}
