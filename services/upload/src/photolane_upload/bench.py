"""``make bench-upload``: what checking an upload costs, stage by stage, against the old check, in one run.

Each input is made in the run from tests/fixtures/faces (``--faces``). Every stage of
``validation.inspect_image`` is timed on its own (even after an earlier stage would have refused),
then the whole ``inspect_image`` (which stops at the first refusal), and the old check: Pillow's
open and ``verify()`` only, what the service did before it decoded uploads. Medians of ``--runs``.
Writes its own section of BENCHMARKS.md (``--section``), between markers, replaced on each run.

Then (``--signin``) the sign-in answer: ``POST /signin`` through the app against a moto server of its
own, for an email with photos and one without, alternately, in the same run (medians and their ratio:
the answer must not tell who has photos); its own section, ``<section>-signin``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import struct
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import PIL
import pillow_heif
from PIL import Image

from photolane_common.benchmarks import splice

from . import strictjpeg
from .validation import OPENED_FORMATS, InvalidUpload, _accepted, _check_layout, _decode_pillow, inspect_image

MAX_BYTES, MAX_PIXELS = 20 * 2**20, 50_000_000  # the service's defaults
STAGES = ("structure", "open+verify", "decode", "strict", "inspect_image", "old check")


# -- the inputs -----------------------------------------------------------------------------------
def inputs(faces: Path) -> dict[str, bytes]:
    photo = Image.open(faces / "group_obama_biden_and_one_more.jpg").convert("RGB")
    photo = photo.resize((4000, 3000), Image.Resampling.LANCZOS)
    baseline = _save(photo, "JPEG", quality=92)
    heic = io.BytesIO()
    pillow_heif.from_pillow(photo).save(heic, quality=80)
    return {
        "12 MP JPEG, baseline": baseline,
        "12 MP JPEG, progressive": _save(photo, "JPEG", quality=92, progressive=True),
        "12 MP PNG": _save(photo, "PNG"),
        "12 MP HEIC": heic.getvalue(),
        "12 MP JPEG cut in half": baseline[: len(baseline) // 2],
        "JPEG claiming 49 MP": lying_jpeg(),
    }


def lying_jpeg() -> bytes:
    """A 16x16 JPEG whose frame header says 7000x7000 (633 bytes)."""
    data = _save(Image.new("RGB", (16, 16), "orange"), "JPEG")
    pos = 2
    while data[pos + 1] not in (0xC0, 0xC2):  # walk the segments to the frame (SOF0/SOF2)
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return data[:pos + 5] + struct.pack(">HH", 7000, 7000) + data[pos + 9:]


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# -- the stages -----------------------------------------------------------------------------------
def _open_verify(data: bytes) -> None:
    """Pillow's open with the accepted parsers, the pixel limit, verify(): also the old check whole."""
    with Image.open(io.BytesIO(data), formats=OPENED_FORMATS) as image:
        _accepted(image, MAX_PIXELS)
        image.verify()


def _stages(data: bytes) -> dict[str, Callable[[], object] | None]:
    try:
        with Image.open(io.BytesIO(data), formats=OPENED_FORMATS) as image:
            fmt = "JPEG" if image.format == "MPO" else image.format
    except Exception:  # noqa: BLE001 - not openable: nothing to decode
        fmt = None
    jpeg = fmt == "JPEG" and strictjpeg.available()
    return {
        "structure": lambda: _check_layout(data),
        "open+verify": lambda: _open_verify(data),
        "decode": (lambda: _decode_pillow(data, fmt)) if fmt else None,
        "strict": (lambda: _strict(data)) if jpeg else None,
        "inspect_image": lambda: inspect_image(data, MAX_BYTES, MAX_PIXELS),
        "old check": lambda: _open_verify(data),
    }


def _strict(data: bytes) -> None:
    if problem := strictjpeg.problem(data):
        raise ValueError(problem)


def _timed(call: Callable[[], object]) -> tuple[float, bool]:
    """Milliseconds, and whether the stage refused (raised)."""
    start = time.perf_counter()
    try:
        call()
        refused = False
    except Exception:  # noqa: BLE001 - a refusal is a result here
        refused = True
    return (time.perf_counter() - start) * 1000, refused


def measure(photos: dict[str, bytes], runs: int) -> dict[str, dict[str, tuple[float, bool] | None]]:
    """{input: {stage: (median ms, refused) or None when the stage does not apply}}; one warm-up run."""
    table: dict[str, dict[str, tuple[float, bool] | None]] = {}
    for label, data in photos.items():
        stages = _stages(data)
        times: dict[str, list[float]] = {name: [] for name in STAGES}
        refused: dict[str, bool] = {}
        for run in range(runs + 1):
            for name, call in stages.items():
                if call is not None:
                    ms, refused[name] = _timed(call)
                    if run:  # run 0 warms up
                        times[name].append(ms)
        table[label] = {name: (statistics.median(times[name]), refused[name]) if stages[name] else None
                        for name in STAGES}
    return table


def outcome(data: bytes) -> str:
    try:
        info = inspect_image(data, MAX_BYTES, MAX_PIXELS)
    except InvalidUpload as exc:
        return f"refused: {exc.message}"
    return f"accepted ({info.format} {info.width}x{info.height})"


# -- the report -----------------------------------------------------------------------------------
def _ms(cell: tuple[float, bool] | None) -> str:
    if cell is None:
        return "–"
    ms, refused = cell
    text = f"{ms:.3f}" if ms < 0.1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"
    return text + (" ✗" if refused else "")


def report(photos: dict[str, bytes], table: dict, runs: int, command: str, title: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    lines = [
        f"## {title}", "",
        f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Milliseconds per upload, medians of",
        f"{runs} runs, one process, on {os.cpu_count()} cores of a shared, noisy machine: {cpu}; Pillow",
        f"{PIL.__version__}, pillow-heif {pillow_heif.__version__}, strict decode "
        f"{'by libjpeg-turbo' if strictjpeg.available() else 'off (libturbojpeg0 missing)'}.", "",
        "Each stage of `validation.inspect_image` timed on its own: **structure** (`_check_layout`),",
        "**open+verify** (Pillow's open, pixel limit, `verify()`), **decode** (Pillow; a JPEG at 1/8 scale),",
        "**strict** (libjpeg-turbo, JPEG only); then the whole `inspect_image` (it stops at the first refusal),",
        "and the **old check**: Pillow's open and `verify()` only, what the service did before. ✗: refused.", "",
        "| input | bytes | " + " | ".join(STAGES) + " | whole / old |",
        "| --- | --- | " + " | ".join("---" for _ in STAGES) + " | --- |",
    ]
    for label, row in table.items():
        ratio = row["inspect_image"][0] / row["old check"][0]
        lines.append(f"| {label} | {len(photos[label]):,} | " + " | ".join(_ms(row[s]) for s in STAGES)
                     + (f" | {ratio:.1f}x |" if ratio < 100 else f" | {ratio:.0f}x |"))
    lines += ["", "What `inspect_image` answers:", ""]
    lines += [f"- {label}: {outcome(data)}" for label, data in photos.items()]
    return "\n".join(lines) + "\n"


# -- the sign-in answer ---------------------------------------------------------------------------
SIGNIN_KINDS = ("email with photos", "email without photos")


def signin_timings(requests: int) -> dict[str, list[float]]:
    """Milliseconds of each ``POST /signin`` answer (CSRF, the request limits, the message), a kind each
    in turn, after a warm-up; against a moto server started here (the real AWS calls, over HTTP)."""
    import re
    import uuid

    from photolane.standin import STANDIN_ENV, free_port, start_standin, stop_process, wait_for_standin
    from photolane_common.domain import PROCESSED, Photo
    from photolane_common.resources import ensure_resources
    from photolane_common.settings import CommonSettings

    from .app import create_app
    from .settings import UploadSettings

    port = free_port()
    standin = start_standin(port)
    try:
        wait_for_standin(f"http://127.0.0.1:{port}", standin)
        os.environ.update({**STANDIN_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
        ensure_resources(CommonSettings())
        app = create_app(UploadSettings(session_key=uuid.uuid4().hex, signins_per_client_hour=10**9,
                                        signins_per_email_hour=10**9))  # counted, never refused
        now = datetime.now(UTC)
        app.extensions["photolane"].photos.create(Photo(
            id=str(uuid.uuid4()), status=PROCESSED, created_at=now, updated_at=now, content_type="image/jpeg",
            original_key="originals/bench.jpg", email="has-photos@example.com"))
        emails = dict(zip(SIGNIN_KINDS, ("has-photos@example.com", "no-photos@example.com"), strict=True))
        clients = {kind: app.test_client() for kind in SIGNIN_KINDS}
        form_token = re.compile(r'name="csrf_token" value="([^"]+)"')
        tokens = {kind: form_token.findall(client.get("/signin").get_data(as_text=True))[0]
                  for kind, client in clients.items()}
        times: dict[str, list[float]] = {kind: [] for kind in SIGNIN_KINDS}
        for run in range(requests + 10):  # the first 10 of each warm up
            for kind in SIGNIN_KINDS:
                form = {"email": emails[kind], "csrf_token": tokens[kind]}
                start = time.perf_counter()
                answer = clients[kind].post("/signin", data=form)
                elapsed = (time.perf_counter() - start) * 1000
                if answer.status_code != 200:
                    raise RuntimeError(f"POST /signin answered {answer.status_code}")
                if run >= 10:
                    times[kind].append(elapsed)
        return times
    finally:
        stop_process(standin)


def signin_report(times: dict[str, list[float]], command: str) -> str:
    medians = {kind: statistics.median(ms) for kind, ms in times.items()}
    quartiles = {kind: statistics.quantiles(ms, n=4) if len(ms) > 1 else [ms[0]] * 3 for kind, ms in times.items()}
    ratio = medians[SIGNIN_KINDS[0]] / medians[SIGNIN_KINDS[1]]
    count = len(times[SIGNIN_KINDS[0]])
    lines = [
        "## Sign-in answer: an email with photos against one without", "",
        f"Made by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `POST /signin` through the app (Flask's",
        f"test client) against a moto server on this machine, {count} requests of each kind taken in turn, after",
        "a warm-up; milliseconds per answer. The answer must not tell who has photos: the upload service does",
        "the same work for both (the request limits, a signed link, one message) and the notifier decides.",
        "Before, the route read the owner's newest photo and only for an email with photos also throttled and",
        "sent the message: 62 ms against 39 ms (the security finding's figures, not this run's).", "",
        "| email | median ms | quartiles ms |", "| --- | --- | --- |",
    ]
    lines += [f"| {kind} | {medians[kind]:.1f} | {quartiles[kind][0]:.1f} – {quartiles[kind][2]:.1f} |"
              for kind in SIGNIN_KINDS]
    lines += ["", f"With photos / without: **{ratio:.2f}x** (medians)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per input (medians are reported)")
    parser.add_argument("--faces", type=Path, default=Path("tests/fixtures/faces"), help="the test photos")
    parser.add_argument("--section", default="upload", help="the part of the report this run rewrites")
    parser.add_argument("--title", default="Upload check: each stage against the old check")
    parser.add_argument("--out", default="BENCHMARKS.md", help="the report; - prints the section only")
    parser.add_argument("--command", default="python -m photolane_upload.bench", help="named in the report")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the upload check (--no-check: the sign-in answer only)")
    parser.add_argument("--signin", type=int, default=200, metavar="N",
                        help="sign-in answers timed of each kind (0: none)")
    args = parser.parse_args()
    sections = []
    if args.check:
        photos = inputs(args.faces)
        sections.append((args.section, report(photos, measure(photos, args.runs), args.runs, args.command,
                                              args.title)))
    if args.signin > 0:
        sections.append((f"{args.section}-signin", signin_report(signin_timings(args.signin), args.command)))
    for name, section in sections:
        sys.stdout.write(section)
        if args.out != "-":
            splice(Path(args.out), name, section)


if __name__ == "__main__":
    main()
