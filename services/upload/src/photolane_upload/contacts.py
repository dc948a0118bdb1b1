"""``POST /api/contacts/check``: the email and phone of an upload, checked without a photo.

The upload page asks it once before it sends any file, so a mistyped phone is refused before several
photos have gone up for nothing. The checks are the upload's own (``handlers.checked_contacts``, and the
per-client count of numbers that may be landlines), so the answer is the sentence the upload would
give. Nothing is read or stored about anyone: it tells only whether these two are well formed and
where an SMS may go (the allowed countries are in every refusal anyway). Counted per client address
like the other routes (``guards.count_contact_check``); like the rest of the API it reads no cookie,
so it is exempt from CSRF (app.py), and a cross-site browser request is refused (cross_site.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from photolane_common.phones import line_unknown

from . import schemas as S
from .deps import current_deps
from .guards import count_contact_check, count_unknown_line_number
from .handlers import checked_contacts
from .openapi import described
from .sessions import bearer_is_admin
from .validation import InvalidUpload

contacts = Blueprint("contacts", __name__)

SHAPE = 'send a JSON object {"email": "...", "phone": "..."} (either may be left out)'


@contacts.post("/api/contacts/check")
@described("Check an email and phone before uploading", tags=("photos",), body=S.ContactsCheck, limited=True,
           description="The checks an upload makes of its email and phone, without a photo: the upload page asks "
                       "once before it sends its files. Nothing is stored, and nothing is told about anyone else.",
           responses={200: S.Contacts,
                      400: (S.Error, "a bad email or phone (the sentence the upload would give), or a body that is "
                                     "not a JSON object of strings"),
                      429: (S.Error, "over a limit (guards.py): too many checks, or too many different numbers "
                                     "that may be landlines, from this address; says when to try again")})
def check() -> Any:
    count_contact_check()  # before anything is read: a flood costs a counter
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error=SHAPE), 400
    email, phone = body.get("email"), body.get("phone")
    if not all(value is None or isinstance(value, str) for value in (email, phone)):
        return jsonify(error=SHAPE), 400
    settings = current_deps().settings
    try:
        email, phone = checked_contacts(email, phone, settings)
    except InvalidUpload as exc:
        return jsonify(error=exc.message), exc.status
    if phone and line_unknown(phone) and not bearer_is_admin(settings):
        count_unknown_line_number(phone)  # as the upload counts it (a 429 too); naming it again is free
    return jsonify(email=email, phone=phone)
