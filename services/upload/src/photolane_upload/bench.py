"""``make bench-upload``: what checking an upload costs, stage by stage, against the old check, in one run.

Each input is made in the run from tests/fixtures/faces (``--faces``). Every stage of
``validation.inspect_image`` is timed on its own (even after an earlier stage would have refused),
then the whole ``inspect_image`` (which stops at the first refusal), and the old check: Pillow's
open and ``verify()`` only, what the service did before it decoded uploads. Medians of ``--runs``.
Writes its own section of BENCHMARKS.md (``--section``), between markers, replaced on each run.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per input (medians are reported)")
    parser.add_argument("--faces", type=Path, default=Path("tests/fixtures/faces"), help="the test photos")
    parser.add_argument("--section", default="upload", help="the part of the report this run rewrites")
    parser.add_argument("--title", default="Upload check: each stage against the old check")
    parser.add_argument("--out", default="BENCHMARKS.md", help="the report; - prints the section only")
    parser.add_argument("--command", default="python -m photolane_upload.bench", help="named in the report")
    args = parser.parse_args()
    photos = inputs(args.faces)
    section = report(photos, measure(photos, args.runs), args.runs, args.command, args.title)
    sys.stdout.write(section)
    if args.out != "-":
        splice(Path(args.out), args.section, section)


if __name__ == "__main__":
    main()
