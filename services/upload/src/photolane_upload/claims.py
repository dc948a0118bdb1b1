"""``POST /uploads/claim``: the upload page's receipts (receipts.py) into the session, in one answer.

The page sends several photos with an email at once, each with ``batch=1``: those uploads leave the
session cookie alone and answer a receipt. It sends their receipts here, one claim at a time (receipts
that come in meanwhile go in the next), so only one answer that sets the cookie is ever on its way.
Before the first photo of such a batch the page claims nothing: the session follows the email then
(a browser without one gets it, and a new form token in the answer), so the session and its token stay
as they are while the photos go up. A form post: CSRF and the cross-site check as every other.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, jsonify, request
from flask_wtf.csrf import generate_csrf

from photolane_common.domain import email_hash, owner_of

from . import sessions
from .receipts import read_receipts
from .validation import InvalidUpload, normalize_email
from .web import sentence

log = logging.getLogger("photolane.upload.claims")

claims = Blueprint("claims", __name__)

TOO_MANY = (f"A claim takes at most {sessions.MAX_UPLOADS_REMEMBERED} receipts (as many uploads as a browser's "
            "gallery remembers); send the rest in another claim.")
NO_EMAIL = "Give the email the photos were sent with."


@claims.post("/uploads/claim")
def claim() -> Any:
    """Form fields: ``email``, ``receipt`` (repeated, at most MAX_UPLOADS_REMEMBERED; none: the session
    only follows the email), ``link`` (the upload link the photos went through). A receipt this browser
    may not claim (altered, another browser's, another email's, expired) is left out of ``claimed``."""
    receipts = request.form.getlist("receipt")
    if len(receipts) > sessions.MAX_UPLOADS_REMEMBERED:
        return jsonify(error=TOO_MANY), 400
    try:
        email = owner_of(normalize_email(request.form.get("email")))
    except InvalidUpload as exc:
        return jsonify(error=sentence(exc.message)), 400
    if email is None:
        return jsonify(error=NO_EMAIL), 400
    claimed, refused = read_receipts(receipts, email, int(time.time()))
    started = sessions.uploaded_many(email, claimed)
    link = request.form.get("link")
    if link and claimed:
        sessions.came_by_link(link)  # as an upload through the link does: "Upload another photo" goes back
    log.info("uploads.claimed", extra={"email_hash": email_hash(email), "claimed": len(claimed),
                                       "refused": refused, "new_session": started})
    return jsonify(claimed=claimed, refused=sum(refused.values()), csrf_token=generate_csrf())
