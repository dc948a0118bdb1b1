"""Hostile input against the running stack, over real HTTP: every case gets a clear 4xx (a JSON
``error`` from the API, an HTML page from the forms), or, when the input is odd but fine, is
processed end to end. Afterwards the service is healthy, no worker crashed (``started`` checks the
log on exit) and nothing is in a dead-letter queue."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from photolane.testing import wait_for

from . import hostile_files as f
from .conftest import Running, finished, started

pytestmark = pytest.mark.e2e

MAX_MB = 1  # the stack's upload limit: oversize cases stay small
JPEG = f.photo_like()
PROGRESSIVE = f.photo_like(progressive=True)
PNG = f.photo_like("PNG")
WEBP = f.photo_like("WEBP")
HEIC = f.heic()


OWN = "the session's own token"


@dataclass
class Hostile:
    """The running stack and the ways to reach it."""

    stack: Running

    @property
    def url(self) -> str:
        return self.stack.url

    def upload(self, data: bytes, name: str = "photo.jpg", **fields: str) -> requests.Response:
        return requests.post(f"{self.url}/api/photos", files={"file": (name, data)}, data=fields, timeout=30)

    def raw(self, path: str, body: bytes, content_type: str = "multipart/form-data; boundary=b",
            **headers: str) -> requests.Response:
        return requests.post(self.url + path, data=body, headers={"Content-Type": content_type, **headers},
                             timeout=30)

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.url + path, headers=headers, timeout=30)

    def browser(self, page: str = "/") -> tuple[requests.Session, str]:
        """A session with the CSRF token its page's forms carry."""
        session = requests.Session()
        text = session.get(self.url + page, timeout=10).text
        return session, re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)

    def admin_browser(self) -> requests.Session:
        """Signed in on the admin page, the proper way (token and CSRF token)."""
        session, token = self.browser("/admin")
        signed = session.post(f"{self.url}/admin/login", data={"token": self.stack.admin_token, "csrf_token": token},
                              allow_redirects=False, timeout=10)
        assert signed.status_code == 303, signed.text[:300]
        return session

    def form_upload(self, data: bytes, csrf: str | None = OWN, accept: str | None = None,
                    session: requests.Session | None = None) -> requests.Response:
        """The upload form; ``csrf`` the token sent: the session's own by default, or none, or this one."""
        if session is None:
            session, own = self.browser()
            csrf = own if csrf is OWN else csrf
        fields = {"email": "", "phone": ""} | ({"csrf_token": csrf} if csrf is not None else {})
        return session.post(f"{self.url}/photos", files={"file": ("a.jpg", data)}, data=fields,
                            headers={"Accept": accept} if accept else {}, allow_redirects=False, timeout=30)

    def form_with_token_of_another_session(self) -> requests.Response:
        _, token = self.browser()
        mine, _ = self.browser()
        return self.form_upload(JPEG, token, session=mine)


@dataclass(frozen=True)
class Expect:
    status: int
    answer: str  # "json": {"error"} | "page": HTML | "processed": 202 then processed | "server": refused before the app
    says: str = ""  # in the error, or in the page
    filename: str | None | Callable[[str | None], bool] = "-"  # processed: the name kept ("-": not checked)


def json(status: int, says: str = "") -> Expect:
    return Expect(status, "json", says)


def page(status: int, says: str = "") -> Expect:
    return Expect(status, "page", says)


def processed(filename: str | None | Callable[[str | None], bool] = "-") -> Expect:
    return Expect(202, "processed", filename=filename)


Send = Callable[[Hostile], requests.Response]
NOT_READABLE = "not a readable image"
CUT = "does not decode"
NO_FILE = "multipart field 'file'"
CSRF = "did not come from this site"
ADMIN = "admin token required"
WRONG_TOKEN = "the admin token is wrong"  # a token sent, but not the admin token (or not as Bearer)
E164 = "E.164"


def up(data: bytes, name: str = "photo.jpg", **fields: str) -> Send:
    return lambda h: h.upload(data, name, **fields)


def raw(body: bytes, content_type: str = "multipart/form-data; boundary=b", path: str = "/api/photos",
        **headers: str) -> Send:
    return lambda h: h.raw(path, body, content_type, **headers)


def with_file(*before: bytes, file: bytes = JPEG, filename: bytes = b"a.jpg") -> bytes:
    return f.multipart(*before, f.part(b"file", file, filename))


CASES: dict[str, tuple[Send, Expect]] = {
    # -- decompression bombs: refused by their header, before a byte is decoded ------------------
    "bomb-png-100000x100000-ihdr": (up(f.with_png_size(f.solid("PNG"), 100_000, 100_000), "b.png"),
                                    json(400, "too many pixels")),
    "bomb-png-8000x8000-real-zeros": (up(f.png_of_zeros(8000, 8000, bit_depth=1), "b.png"),
                                      json(400, "8000x8000 (64.0 MP); the limit is 50 MP")),
    "bomb-jpeg-65535x65535-sof": (up(f.with_jpeg_size(f.solid("JPEG"), 65535, 65535)), json(400, "65535x65535")),
    "bomb-webp-16384x16384-vp8l": (up(f.webp_lossless_of_size(16384, 16384), "b.webp"), json(400, "too many pixels")),
    "bomb-webp-7000x7000-36-bytes": (up(f.webp_lossless_of_size(7000, 7000), "b.webp"),
                                     json(400, "WebP images of more than 26 MP are not accepted")),
    "bomb-gif-65535x65535": (up(f.solid("GIF")[:6] + b"\xff\xff\xff\xff" + f.solid("GIF")[10:], "b.gif"),
                             json(400, "too many pixels")),
    "bomb-png-49mp-black-within-the-limit": (up(f.png_of_zeros(7000, 7000), "black.png"), processed("black.png")),
    # -- lying headers: a size the data cannot fill -------------------------------------------------
    "lie-jpeg-49mp-in-700-bytes": (up(f.with_jpeg_size(f.solid("JPEG", (16, 16)), 7000, 7000)),
                                   json(400, "says it is 7000x7000 but holds too little data")),
    "lie-progressive-jpeg-49mp": (up(f.with_jpeg_size(f.photo_like(size=(16, 16), progressive=True), 7000, 7000)),
                                  json(400, "says it is 7000x7000")),
    "lie-jpeg-ten-times-its-size": (up(f.with_jpeg_size(f.solid("JPEG", (64, 64)), 640, 640)), json(400, "640x640")),
    "lie-png-7000x7000-ihdr": (up(f.with_png_size(f.solid("PNG", (16, 16)), 7000, 7000), "l.png"), json(400, CUT)),
    "lie-webp-4000x3000-vp8": (up(f.with_webp_lossy_size(WEBP, 4000, 3000), "l.webp"), json(400, CUT)),
    # -- truncations ------------------------------------------------------------------------------------
    "cut-jpeg-in-its-header": (up(JPEG[:20]), json(400, NOT_READABLE)),
    "cut-jpeg-at-10%": (up(JPEG[: len(JPEG) // 10]), json(400, CUT)),
    "cut-jpeg-at-50%": (up(JPEG[: len(JPEG) // 2]), json(400, CUT)),
    "cut-jpeg-at-90%": (up(JPEG[: len(JPEG) * 9 // 10]), json(400, CUT)),
    "cut-jpeg-end-marker-only": (up(JPEG[:-2]), json(400, CUT)),
    "cut-progressive-jpeg-at-50%": (up(PROGRESSIVE[: len(PROGRESSIVE) // 2]), json(400, CUT)),
    "cut-png-at-50%": (up(PNG[: len(PNG) // 2], "c.png"), json(400)),
    "cut-png-without-iend": (up(PNG[:-12], "c.png"), json(400)),
    "cut-webp-at-50%": (up(WEBP[: len(WEBP) // 2], "c.webp"), json(400)),
    "cut-heic-at-75%": (up(HEIC[: len(HEIC) * 3 // 4], "c.heic"), json(400)),
    # -- polyglots -----------------------------------------------------------------------------------
    "polyglot-jpeg-then-zip": (up(JPEG + f.zip_archive(), "z.jpg"), processed("z.jpg")),
    "polyglot-jpeg-then-html-script": (up(JPEG + f.HTML, "h.jpg"), processed("h.jpg")),
    "polyglot-jpeg-with-script-in-a-comment": (up(f.with_jpeg_comment(JPEG, f.HTML)), processed()),
    "polyglot-jpeg-with-a-gif-in-a-comment": (up(f.with_jpeg_comment(JPEG, f.solid("GIF"))), processed()),
    "polyglot-gif-header-with-a-jpeg-inside": (up(f.solid("GIF") + JPEG, "g.jpg"), json(400, "GIF images are not")),
    "polyglot-png-with-php-in-a-text-chunk": (up(f.with_png_text(f.solid("PNG"), b"c", b"<?php system($_GET[1]); ?>"),
                                                 "p.png"), processed("p.png")),
    "polyglot-svg-named-jpg": (up(f.SVG, "x.jpg"), json(400, NOT_READABLE)),
    "polyglot-pdf-named-jpg": (up(f.pdf(), "x.jpg"), json(400, NOT_READABLE)),
    "polyglot-html-named-jpg": (up(f.HTML, "x.jpg"), json(400, NOT_READABLE)),
    # -- formats not accepted ------------------------------------------------------------------------
    "format-gif": (up(f.solid("GIF"), "a.gif"), json(400, "GIF images are not accepted")),
    "format-bmp": (up(f.solid("BMP"), "a.bmp"), json(400, "BMP images are not accepted")),
    "format-tiff": (up(f.solid("TIFF"), "a.tiff"), json(400, "TIFF images are not accepted")),
    "format-ico": (up(f.solid("ICO"), "a.ico"), json(400, "ICO images are not accepted")),
    "format-avif": (up(f.solid("AVIF"), "a.avif"), json(400, "AVIF images are not accepted")),
    "format-tga": (up(f.solid("TGA"), "a.tga"), json(400, NOT_READABLE)),
    "format-svg": (up(f.SVG, "a.svg"), json(400, NOT_READABLE)),
    "format-pdf": (up(f.pdf(), "a.pdf"), json(400, NOT_READABLE)),
    "format-plain-text": (up(b"just some words\n", "a.txt"), json(400, NOT_READABLE)),
    # -- accepted odd-but-valid images: processed ------------------------------------------------------
    "valid-animated-png-first-frame": (up(f.animated("PNG"), "anim.png"), processed("anim.png")),
    "valid-animated-webp-first-frame": (up(f.animated("WEBP"), "anim.webp"), processed("anim.webp")),
    "valid-heic": (up(HEIC, "a.heic"), processed("a.heic")),
    "valid-cmyk-jpeg": (up(f.solid("JPEG", mode="CMYK")), processed()),
    # -- empty and oversize --------------------------------------------------------------------------
    "empty-file": (up(b""), json(400, "the file is empty")),
    "empty-filename": (up(JPEG, ""), json(400, NO_FILE)),
    "oversize-a-bit-over-the-limit": (up(JPEG + bytes(MAX_MB * 10**6)),
                                      json(413, f"the file is 1.1 MB; the limit is {MAX_MB} MB")),
    # Refused before it is read: its size from Content-Length, said as people read sizes (10^6 bytes a MB).
    "oversize-body-twice-the-limit": (up(JPEG + bytes(MAX_MB * 2**20 * 2 + 1)),
                                      json(413, f"MB; the limit is {MAX_MB} MB")),
    # -- malformed multipart ---------------------------------------------------------------------------
    "multipart-no-boundary": (raw(with_file(), "multipart/form-data"), json(400, NO_FILE)),
    "multipart-empty-boundary": (raw(with_file(), "multipart/form-data; boundary="), json(400, NO_FILE)),
    "multipart-other-boundary": (raw(with_file(), "multipart/form-data; boundary=zzz"), json(400, NO_FILE)),
    "multipart-5000-char-boundary": (raw(with_file(), "multipart/form-data; boundary=" + "x" * 5000),
                                     json(400, NO_FILE)),
    "multipart-no-closing-boundary": (raw(f.part(b"file", JPEG, b"a.jpg")), json(400, NO_FILE)),
    "multipart-cut-inside-the-file": (raw(f.part(b"file", JPEG, b"a.jpg")[:300]), json(400, NO_FILE)),
    "multipart-no-content-disposition": (raw(b"--b\r\nContent-Type: image/jpeg\r\n\r\n" + JPEG + b"\r\n--b--\r\n"),
                                         json(400, NO_FILE)),
    "multipart-garbage-body": (raw(bytes(range(256)) * 8), json(400, NO_FILE)),
    "multipart-missing-file-field": (raw(f.multipart(f.part(b"email", b"a@example.com"))), json(400, NO_FILE)),
    "multipart-file-sent-as-a-text-field": (raw(f.multipart(f.part(b"file", b"abc"))), json(400, NO_FILE)),
    "multipart-two-files-first-valid": (raw(f.multipart(f.part(b"file", JPEG, b"first.jpg"),
                                                        f.part(b"file", b"not an image", b"second.jpg"))),
                                        processed("first.jpg")),
    "multipart-two-files-first-invalid": (raw(f.multipart(f.part(b"file", b"not an image", b"first.jpg"),
                                                          f.part(b"file", JPEG, b"second.jpg"))),
                                          json(400, NOT_READABLE)),
    "multipart-1500-fields": (raw(with_file(*(f.part(b"f%d" % i, b"x") for i in range(1500)))),
                              json(413, "too many fields")),
    "multipart-600-kb-text-field": (raw(with_file(f.part(b"email", b"a" * 600_000))), json(413, "too many fields")),
    "multipart-non-utf8-field-name": (raw(with_file(f.part(b"\xff\xfe", b"v"))), json(400, NO_FILE)),
    "multipart-non-utf8-email-value": (raw(with_file(f.part(b"email", b"\xff\xfe@\xe9.com"))), json(400, "email")),
    "multipart-non-utf8-filename": (raw(with_file(filename=b"\xff\xfe.jpg")), json(400, NO_FILE)),
    "multipart-crlf-in-filename": (raw(with_file(filename=b"a\r\nContent-Type: text/html\r\n.jpg")),
                                   json(400, NO_FILE)),
    "multipart-urlencoded-body": (raw(b"file=abc", "application/x-www-form-urlencoded"), json(400, NO_FILE)),
    "multipart-json-body": (raw(b'{"file": "abc"}', "application/json"), json(400, NO_FILE)),
    "multipart-text-plain-body": (raw(JPEG, "text/plain"), json(400, NO_FILE)),
    # -- path tricks in file names: the record keeps the base name only ---------------------------------
    "filename-dot-dot-etc-passwd": (up(JPEG, "../../etc/passwd"), processed("passwd")),
    "filename-absolute-path": (up(JPEG, "/etc/shadow"), processed("shadow")),
    # Werkzeug reads a backslash in the quoted name as an escape: "....Windowswin.ini", no separator left
    "filename-windows-backslashes": (up(JPEG, "..\\..\\Windows\\win.ini"),
                                     processed(lambda name: name.endswith("win.ini") and not set("/\\") & set(name))),
    "filename-nul-byte": (raw(with_file(filename=b"ok\x00.php.jpg")), processed("ok.php.jpg")),
    "filename-5000-chars": (up(JPEG, "n" * 5000 + ".jpg"), processed("n" * 200)),
    "filename-rtl-override": (up(JPEG, "photo\u202egpj.exe"), processed("photogpj.exe")),
    "filename-only-dots": (up(JPEG, ".."), processed(None)),
    "filename-html": (up(JPEG, "<img src=x onerror=alert(1)>.jpg"), processed("<img src=x onerror=alert(1)>.jpg")),
    # -- header injection in the email ------------------------------------------------------------------
    "email-crlf-bcc": (up(JPEG, email="me@example.com\r\nBcc: victim@example.org"), json(400, "email")),
    "email-lf-bcc": (up(JPEG, email="me@example.com\nBcc: victim@example.org"), json(400, "email")),
    "email-encoded-crlf": (up(JPEG, email="me@example.com%0d%0aBcc:victim@example.org"), json(400, "email")),
    "email-two-addresses": (up(JPEG, email="me@example.com, victim@example.org"), json(400, "email")),
    "email-quoted-crlf": (up(JPEG, email='"me\r\nBcc: v@example.org"@example.com'), json(400, "email")),
    "email-10-kb": (up(JPEG, email="a" * 10_000 + "@example.com"), json(400, "email")),
    "email-ip-literal": (up(JPEG, email="me@[127.0.0.1]"), json(400, "email")),
    # -- odd phones ---------------------------------------------------------------------------------------
    "phone-letters": (up(JPEG, phone="+1415555CALL"), json(400, E164)),
    "phone-too-long": (up(JPEG, phone="+1" + "5" * 30), json(400, E164)),
    "phone-no-plus": (up(JPEG, phone="14155550123"), json(400, E164)),
    "phone-double-plus": (up(JPEG, phone="++14155550123"), json(400, E164)),
    "phone-nul-byte": (up(JPEG, phone="+1415555012\x00"), json(400, "phone")),
    "phone-premium-rate-us": (up(JPEG, phone="+19005550123"), json(400, "premium-rate")),
    "phone-premium-rate-uk": (up(JPEG, phone="+449098790123"), json(400, "phone")),
    "phone-toll-free": (up(JPEG, phone="+18005550123"), json(400, "phone")),
    "phone-fictitious-nanp-555-01xx": (up(JPEG, phone="+12125550142"), json(400, "555-0100 to 555-0199")),
    "phone-country-not-allowed-de": (up(JPEG, phone="+4915112345678"), json(400, "SMS are not sent to numbers of DE")),
    "phone-country-not-allowed-cu": (up(JPEG, phone="+5351234567"), json(400, "phone")),
    "phone-unassigned-country-code": (up(JPEG, phone="+999123456789"), json(400, E164)),
    # -- huge and injected photo ids -----------------------------------------------------------------------
    "id-10-kb-api": (lambda h: h.get("/api/photos/" + "a" * 10_240), Expect(414, "server")),
    "id-10-kb-page": (lambda h: h.get("/photos/" + "a" * 10_240), Expect(414, "server")),
    "id-3-kb-api": (lambda h: h.get("/api/photos/" + "a" * 3_000), json(404, "no photo")),
    "id-3-kb-page": (lambda h: h.get("/photos/" + "a" * 3_000), page(404)),
    "id-dot-dot-slash-api": (lambda h: h.get("/api/photos/..%2F..%2F..%2Fetc%2Fpasswd"), json(404)),
    "id-dot-dot-slash-page": (lambda h: h.get("/photos/..%2F..%2Fetc%2Fpasswd"), page(404)),
    "id-nul-byte-api": (lambda h: h.get("/api/photos/abc%00def"), json(404, "no photo")),
    "id-nul-byte-page": (lambda h: h.get("/photos/abc%00def"), page(404)),
    "id-sql-api": (lambda h: h.get("/api/photos/' OR '1'='1' --"), json(404, "no photo")),
    "id-nosql-api": (lambda h: h.get('/api/photos/{"$ne": null}'), json(404, "no photo")),
    "id-wildcard-page": (lambda h: h.get("/photos/*"), page(404)),
    "api-unknown-path": (lambda h: h.get("/api/photos/x/y/z"), json(404)),
    "api-wrong-method": (lambda h: requests.delete(f"{h.url}/api/photos", timeout=10), json(405)),
    # -- admin without the token ---------------------------------------------------------------------------
    "admin-api-no-token": (lambda h: h.get("/api/admin/uploads"), json(401, ADMIN)),
    "admin-api-wrong-token": (lambda h: h.get("/api/admin/uploads", Authorization="Bearer wrong"),
                              json(401, WRONG_TOKEN)),
    "admin-api-bare-token": (lambda h: h.get("/api/admin/uploads", Authorization=h.stack.admin_token),
                             json(401, WRONG_TOKEN)),
    "admin-api-basic-scheme": (lambda h: h.get("/api/admin/uploads", Authorization=f"Basic {h.stack.admin_token}"),
                               json(401, WRONG_TOKEN)),
    "admin-api-token-with-a-suffix": (lambda h: h.get("/api/admin/export",
                                                      Authorization="Bearer " + h.stack.admin_token + "x"),
                                      json(401, WRONG_TOKEN)),
    "admin-api-token-in-query": (lambda h: h.get(f"/api/admin/export?token={h.stack.admin_token}"), json(401, ADMIN)),
    "admin-api-block-uploads-no-token": (lambda h: requests.put(f"{h.url}/api/admin/uploads", json={"blocked": True},
                                                                timeout=10), json(401, ADMIN)),
    "admin-api-purge-wrong-token": (lambda h: requests.post(f"{h.url}/api/admin/queues/jobs-dlq/purge",
                                                            json={"confirm": True},
                                                            headers={"Authorization": "Bearer nope"}, timeout=10),
                                    json(401, WRONG_TOKEN)),
    "admin-api-delete-person-no-token": (lambda h: requests.delete(f"{h.url}/api/people/x", timeout=10),
                                         json(401, ADMIN)),
    "admin-page-no-session": (lambda h: h.get("/admin"), page(401)),
    "admin-export-page-no-session": (lambda h: h.get("/admin/export?format=csv"), page(401)),
    # -- forms without their CSRF token ---------------------------------------------------------------------
    "csrf-upload-form-none": (lambda h: h.form_upload(JPEG, None), page(400, CSRF)),
    "csrf-upload-form-none-json": (lambda h: h.form_upload(JPEG, None, accept="application/json"), json(400, CSRF)),
    "csrf-upload-form-forged": (lambda h: h.form_upload(JPEG, "IjEyMyI.forged.token"), page(400, CSRF)),
    "csrf-upload-form-token-of-another-session": (lambda h: h.form_with_token_of_another_session(), page(400, CSRF)),
    "csrf-signin-none": (lambda h: requests.post(f"{h.url}/signin", data={"email": "a@example.com"}, timeout=10),
                         page(400, CSRF)),
    "csrf-admin-login-right-token-no-csrf": (lambda h: requests.post(
        f"{h.url}/admin/login", data={"token": h.stack.admin_token}, timeout=10), page(400, CSRF)),
    "csrf-admin-block-uploads-signed-in": (lambda h: h.admin_browser().post(
        f"{h.url}/admin/uploads", data={"blocked": "1"}, timeout=10), page(400, CSRF)),
    "csrf-admin-enroll": (lambda h: requests.post(f"{h.url}/admin/people", files={"photo": ("a.jpg", JPEG)},
                                                  data={"name": "X"}, timeout=10), page(400, CSRF)),
    "csrf-admin-purge": (lambda h: requests.post(f"{h.url}/admin/queues/jobs/purge", data={"confirm": "yes"},
                                                 timeout=10), page(400, CSRF)),
    "csrf-logout": (lambda h: requests.post(f"{h.url}/logout", timeout=10), page(400, CSRF)),
    "csrf-form-broken-multipart": (lambda h: h.raw("/photos", b"garbage"), page(400, CSRF)),
    # -- the forms, with their token, given hostile input: a page saying why --------------------------------
    "form-cut-jpeg": (lambda h: h.form_upload(JPEG[: len(JPEG) // 2]), page(400, "does not decode")),
    "form-lying-jpeg-json": (lambda h: h.form_upload(f.with_jpeg_size(f.solid("JPEG", (16, 16)), 7000, 7000),
                                                     accept="application/json"), json(400, "says it is 7000x7000")),
    "form-oversize": (lambda h: h.form_upload(JPEG + bytes(MAX_MB * 2**20 * 2)), page(413, "the limit is 1 MB")),
    "form-signin-email-crlf": (lambda h: _signin(h, "me@example.com\r\nBcc: victim@example.org"), page(400, "Email")),
    # -- a browser sending for another site's page: refused before anything is read -------------------------
    "crosssite-upload-api": (lambda h: requests.post(
        f"{h.url}/api/photos", files={"file": ("a.jpg", JPEG)}, data={"phone": "+14155550123"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, timeout=30),
        json(403, "another site")),
    "crosssite-upload-form-origin-null": (lambda h: h.raw("/photos", b"x", Origin="null"), page(403, "another site")),
    "crosssite-signin-same-site-other-origin": (lambda h: requests.post(
        f"{h.url}/signin", data={"email": "a@example.com"},
        headers={"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, timeout=10),
        page(403, "another site")),
    # -- crafted cursors and bodies: a 400 with a sentence, never a 500 -------------------------------------
    "crafted-cursor-unsigned": (lambda h: h.get("/api/people?cursor=eyJncm91cCI6IHsiUyI6ICJ4In19",
                                                Authorization=f"Bearer {h.stack.admin_token}"), json(400, "cursor")),
    "crafted-cursor-forged-signature": (lambda h: h.get("/api/people?cursor=eyJpZCI6ICJ4In0.AAAAAAAAAAAAAAAAAAAAAAAA",
                                                        Authorization=f"Bearer {h.stack.admin_token}"),
                                        json(400, "cursor")),
    "crafted-json-nested-5000-deep": (lambda h: requests.post(
        f"{h.url}/api/people", data=b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {h.stack.admin_token}"}, timeout=10),
        json(400)),
    "crafted-json-over-64-kb": (lambda h: requests.post(
        f"{h.url}/api/people", data=b'{"name": "' + b"a" * 70_000 + b'"}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {h.stack.admin_token}"}, timeout=10),
        json(400, "64 KB")),
}


def _signin(h: Hostile, email: str) -> requests.Response:
    session, token = h.browser("/signin")
    return session.post(f"{h.url}/signin", data={"email": email, "csrf_token": token}, timeout=10)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    # No error may be logged at all (not even a failed message): every case is refused up front.
    with started(tmp_path_factory, expected_errors=(), PHOTOLANE_MAX_UPLOAD_MB=str(MAX_MB),
                 PHOTOLANE_UPLOADS_PER_CLIENT_HOUR="100000", PHOTOLANE_SIGNINS_PER_CLIENT_HOUR="100000",
                 PHOTOLANE_ADMIN_LOGINS_PER_CLIENT_HOUR="100000") as stack:
        yield Hostile(stack)


@pytest.mark.parametrize(("send", "expect"), CASES.values(), ids=CASES.keys())
def test_hostile_input_is_refused_clearly_or_processed(hostile: Hostile, send: Send, expect: Expect) -> None:
    answer = send(hostile)
    described = f"{answer.status_code} {answer.headers.get('Content-Type')}: {answer.text[:300]!r}"
    assert answer.status_code == expect.status, described
    if expect.answer == "json":
        assert answer.headers["Content-Type"].startswith("application/json"), described
        message = answer.json()["error"]
        assert isinstance(message, str) and message and expect.says in message, described
    elif expect.answer == "page":
        assert answer.headers["Content-Type"].startswith("text/html"), described
        assert "<html" in answer.text.lower() and expect.says in answer.text, described
    elif expect.answer == "processed":
        photo = finished(hostile.stack, answer.json()["id"])
        assert photo["status"] == "processed", photo
        if callable(expect.filename):
            assert expect.filename(photo["filename"]), photo["filename"]
        elif expect.filename != "-":
            assert photo["filename"] == expect.filename
    else:  # refused by the HTTP server itself, before the app: a 4xx, never a 5xx
        assert 400 <= answer.status_code < 500, described


def test_there_are_enough_cases() -> None:
    groups = {name.split("-")[0] for name in CASES}
    assert len(CASES) >= 40 and {"bomb", "lie", "cut", "polyglot", "format", "multipart", "filename", "email",
                                 "phone", "id", "admin", "csrf"} <= groups


def test_a_file_name_is_shown_escaped(hostile: Hostile) -> None:
    photo_id = hostile.upload(JPEG, "<img src=x onerror=alert(1)>.jpg").json()["id"]
    text = hostile.get(f"/photos/{photo_id}").text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;.jpg" in text


def test_afterwards_the_service_is_healthy_and_nothing_was_dead_lettered(hostile: Hostile, faces_dir: Path) -> None:
    assert hostile.get("/healthz").status_code == 200
    admin = {"Authorization": f"Bearer {hostile.stack.admin_token}"}
    assert hostile.get("/api/admin/uploads", **admin).json() == {"blocked": False}  # no case blocked them
    photo = finished(hostile.stack, hostile.upload((faces_dir / "biden_2.jpg").read_bytes()).json()["id"])
    assert photo["status"] == "processed" and len(photo["faces"]) == 1

    sqs = boto3.client("sqs", endpoint_url=hostile.stack.aws_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    urls = sqs.list_queues(QueueNamePrefix="photolane")["QueueUrls"]
    dead = [url for url in urls if url.endswith("-dlq")]
    assert len(dead) >= 2, urls

    def count(url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attributes[name]) for name in names)

    wait_for(lambda: all(count(url) == 0 for url in urls if url not in dead), timeout=60,
             what="the jobs and notifications queues to drain")
    assert {url.rsplit("/", 1)[1]: count(url) for url in dead} == {url.rsplit("/", 1)[1]: 0 for url in dead}
