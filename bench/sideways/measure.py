"""What looking for faces in a photo saved sideways costs: when the upright detection finds none, the
processor glances at the photo turned a quarter each way (``pipeline.sideways``).

Each photo of ``--faces`` is turned a quarter clockwise and saved without an orientation flag (as a
phone that did not record one saves it); then, as the processor does it, one decode at the work size,
the detection on it (it finds no face), and ``pipeline.sideways`` (two glances: HOG with one upsampling
less). Beside it, what the full detection on each turn would cost (the other way to do it). Medians of
``--runs`` runs, each cost's ratio to the upright detection's in the same run, and the photo's whole
``render``. Writes its section of BENCHMARKS.md; prints ``sideways <photo> <figure> <value>``.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PIL import Image

from photolane_common.benchmarks import splice
from photolane_common.domain import Sideways
from photolane_processor.faces import FaceDetector, FaceEncoder
from photolane_processor.imaging import decode_for_work
from photolane_processor.matching import FaceIndex
from photolane_processor.pipeline import TURNS, Recognition, render, sideways
from photolane_processor.settings import ProcessorSettings

PHOTOS = ("obama_1.jpg", "obama_2.jpg", "kit_harington_1.jpg", "rose_leslie_1.jpg", "group_kit_and_rose.jpg",
          "group_obama_biden_and_one_more.jpg")


T = TypeVar("T")
NO_FACE = "no face (group_kit_and_rose.jpg below the faces)"


def saved_sideways(path: Path) -> bytes:
    """The photo turned a quarter clockwise, saved as a JPEG with no orientation flag."""
    out = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").transpose(Image.Transpose.ROTATE_270).save(out, "JPEG", quality=92)
    return out.getvalue()


def without_a_face(faces: Path) -> bytes:
    """A real photo with no face in it: the part of a group photo below the faces."""
    out = io.BytesIO()
    with Image.open(faces / "group_kit_and_rose.jpg") as image:
        image.convert("RGB").crop((0, 224, image.width, image.height)).save(out, "JPEG", quality=92)
    return out.getvalue()


def _ms(call: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = call()
    return (time.perf_counter() - start) * 1000, value


def measure(data: bytes, recognition: Recognition, settings: ProcessorSettings, runs: int) -> dict[str, float]:
    upright, glances, detections, whole = [], [], [], []
    hint: Sideways | None = None
    found: dict[int, int] = {}
    for _ in range(runs):
        work = decode_for_work(data, settings.work_px).image
        ms, boxes = _ms(lambda: recognition.detector.detect(work))  # noqa: B023 - called at once
        upright.append(ms)
        assert not boxes, "the sideways photo has faces upright: not a sideways photo"
        ms, hint = _ms(lambda: sideways(work, recognition.detector))  # noqa: B023
        glances.append(ms)
        started = time.perf_counter()
        found = {turn: len(recognition.detector.detect(work.transpose(t))) for turn, t in TURNS.items()}
        detections.append((time.perf_counter() - started) * 1000)
        whole.append(_ms(lambda: render(data, recognition, settings.thumbnail_px, settings.jpeg_quality,
                                        settings.work_px))[0])
    u, g, d = statistics.median(upright), statistics.median(glances), statistics.median(detections)
    return {"upright_ms": u, "glances_ms": g, "glances_ratio": g / u, "detections_ms": d,
            "detections_ratio": d / u, "render_ms": statistics.median(whole),
            "turn": hint.turn if hint else 0, "faces": hint.faces if hint else 0,
            "found_90": found[90], "found_270": found[270]}


def report(rows: dict[str, dict[str, float]], runs: int, command: str) -> str:
    lines = [
        "## Sideways photos: the quarter turns tried when no face is found",
        "",
        f"Made by `{command}`. Each photo turned a quarter clockwise and saved without an orientation",
        f"flag; milliseconds, medians of {runs} runs in one process, on {platform.machine()} (2 cores,",
        "shared and busy: compare the ratios, taken in the same run, rather than the times). *upright*:",
        "the processor's detection (HOG on a copy of at most `PHOTOLANE_DETECT_MAX_PX`, upsampled",
        "`PHOTOLANE_DETECT_UPSAMPLE` times), which finds no face; *glances*: what the processor adds then,",
        "`pipeline.sideways` (both turns, HOG with one upsampling less, the turning included), and the hint",
        "it gives (the right one is 270°: a quarter anticlockwise); *full detections*: the same detection",
        "as upright on both turns, the faces each finds (90° / 270°: a false face at the wrong turn is why",
        "the hint goes by the faces' scores, not their number); *render*: the photo's whole processing.",
        "The last row is a real photo with no face at all, upright: it pays the glances and gets no hint.",
        "",
        "| photo | upright | glances | ratio | hint | full detections | ratio | faces 90° / 270° | render |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in rows.items():
        hint = f"{r['turn']:.0f}°, {r['faces']:.0f} face{'' if r['faces'] == 1 else 's'}" if r["turn"] else "none"
        lines.append(f"| {name} | {r['upright_ms']:.0f} ms | {r['glances_ms']:.0f} ms | {r['glances_ratio']:.2f}× "
                     f"| {hint} | {r['detections_ms']:.0f} ms | {r['detections_ratio']:.2f}× "
                     f"| {r['found_90']:.0f} / {r['found_270']:.0f} | {r['render_ms']:.0f} ms |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=Path("tests/fixtures/faces"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--report", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--command", default="make bench-sideways")
    args = parser.parse_args()
    settings = ProcessorSettings()
    recognition = Recognition(FaceDetector(settings.detect_max_px, settings.detect_upsample), FaceEncoder(),
                              FaceIndex(), settings.naming)
    rows = {}
    photos = {**{name: saved_sideways(args.faces / name) for name in PHOTOS}, NO_FACE: without_a_face(args.faces)}
    for name, data in photos.items():
        rows[name] = measure(data, recognition, settings, args.runs)
        for figure, value in rows[name].items():
            print(f"sideways {name} {figure} {value:.3f}", flush=True)
    splice(args.report, "sideways", report(rows, args.runs, args.command))


if __name__ == "__main__":
    main()
