"""``make bench``: the processor's speed, stage by stage, against the naive pipeline, in one run.

Writes one section of BENCHMARKS.md (``--section``: the venv, or the processor image). The photos are
built from the real test photos (``--faces``, tests/fixtures/faces): a 2 MP group photo, and a 12 MP
photo with 9 faces down to 3 % of its long side.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photolane_common import logs
from photolane_common.benchmarks import splice

from . import jpeg
from .faces import FaceDetector, FaceEncoder
from .imaging import encode, encode_jpeg, mirrored, open_oriented, thumbnail
from .matching import FaceIndex
from .pipeline import Recognition, render
from .settings import ProcessorSettings

FACES = Path(os.environ.get("PHOTOLANE_BENCH_FACES", "tests/fixtures/faces"))
log = logging.getLogger("photolane.bench")

STAGES = ("decode", "flip", "thumbnail", "detect", "encode", "match", "pictures")  # pictures: each face's 160 px JPEG
SINGLES = ["obama_2", "biden_2", "kit_harington_3", "rose_leslie_2", "alex_lacamoire_3", "obama_3",
           "kit_harington_2", "biden_1", "rose_leslie_1"]


# -- the photos ---------------------------------------------------------------------------------
def photo_12mp() -> bytes:
    """4000 x 3000, nine real faces from 3 % to about 10 % of the long side."""
    canvas = Image.new("RGB", (4000, 3000), (128, 128, 120))
    detector = FaceDetector(max_px=4000, upsample=0)
    targets = np.linspace(400, 120, num=9)  # face widths, px
    for i, (name, face_px) in enumerate(zip(SINGLES, targets, strict=True)):
        source, _ = open_oriented((FACES / f"{name}.jpg").read_bytes())
        top, right, bottom, left = detector.detect(source)[0]
        scale = face_px / (right - left)
        scaled = source.resize((round(source.width * scale), round(source.height * scale)), Image.Resampling.LANCZOS)
        cell_x, cell_y = (i % 3) * 1333, (i // 3) * 1000
        cx, cy = (left + right) / 2 * scale, (top + bottom) / 2 * scale  # face centre in the scaled photo
        crop = scaled.crop((round(cx - 600), round(cy - 450), round(cx + 600), round(cy + 450)))
        canvas.paste(crop, (cell_x + 66, cell_y + 50))
    return _jpeg(canvas)


def photo_2mp() -> bytes:
    group = Image.open(FACES / "group_obama_biden_and_one_more.jpg").convert("RGB")
    return _jpeg(group.resize((1732, 1237), Image.Resampling.LANCZOS))


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


# -- the two pipelines --------------------------------------------------------------------------
@dataclass
class Run:
    ms: dict[str, float]
    boxes: list[tuple[int, int, int, int]]
    encodings: list[np.ndarray]


def naive(data: bytes, detector: Callable, encoder: Callable, index: FaceIndex) -> Run:
    """What a face_recognition script does: full decode, full-size detection and encoding."""
    ms: dict[str, float] = {}
    t = time.perf_counter()
    image, fmt = open_oriented(data)
    ms["decode"] = _lap(t)
    t = time.perf_counter()
    encode(mirrored(image), fmt)
    ms["flip"] = _lap(t)
    t = time.perf_counter()
    encode_jpeg(thumbnail(image, 256))
    ms["thumbnail"] = _lap(t)
    pixels = np.asarray(image.convert("RGB"))
    t = time.perf_counter()
    boxes = detector(pixels, number_of_times_to_upsample=1)
    ms["detect"] = _lap(t)
    t = time.perf_counter()
    encodings = encoder(pixels, known_face_locations=boxes)
    ms["encode"] = _lap(t)
    t = time.perf_counter()
    index.match(np.array(encodings), 0.6)
    ms["match"] = _lap(t)
    return Run(ms, boxes, encodings)


def fast(data: bytes, recognition: Recognition) -> Run:
    out = render(data, recognition, thumbnail_px=256)
    return Run(out.timings_ms, [f.box for f in out.faces],
               [np.frombuffer(f.encoding, dtype=np.float32) for f in out.faces])


def _lap(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def medians(runs: list[Run]) -> dict[str, float]:
    return {stage: statistics.median(r.ms.get(stage, 0.0) for r in runs) for stage in STAGES}


# -- throughput with worker processes -------------------------------------------------------------
_WORKER: Recognition | None = None


def _init_worker() -> None:
    global _WORKER
    settings = ProcessorSettings(_env_file=None)
    _WORKER = Recognition(FaceDetector(settings.detect_max_px, settings.detect_upsample), FaceEncoder(),
                          FaceIndex(), settings.naming)


def _work(data: bytes) -> int:
    assert _WORKER is not None
    return len(render(data, _WORKER, 256).faces)


def photos_per_second(data: bytes, processes: int, photos: int) -> float:
    with multiprocessing.get_context("fork").Pool(processes, initializer=_init_worker) as pool:
        pool.map(_work, [data] * processes)  # warm: models loaded in every process
        start = time.perf_counter()
        pool.map(_work, [data] * photos, chunksize=1)
        return photos / (time.perf_counter() - start)


# -- the report -------------------------------------------------------------------------------------
def main() -> None:
    global FACES
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (medians are reported)")
    parser.add_argument("--faces", type=Path, default=FACES, help="the test photos (tests/fixtures/faces)")
    parser.add_argument("--section", default="venv", help="the part of the report this run rewrites")
    parser.add_argument("--title", default="In the venv (make bench)")
    parser.add_argument("--out", default="BENCHMARKS.md", help="the report; - prints the section")
    parser.add_argument("--splice", type=Path, help="put this section file into --out, measure nothing")
    parser.add_argument("--command", default="python -m photolane_processor.bench", help="named in the report")
    args = parser.parse_args()
    if args.splice:
        splice(Path(args.out), args.section, args.splice.read_text())
        return
    FACES = args.faces
    logs.configure("bench")
    import face_recognition

    settings = ProcessorSettings(_env_file=None)
    detector = FaceDetector(settings.detect_max_px, settings.detect_upsample)
    encoder = FaceEncoder()
    rng = np.random.default_rng(0)
    big_index = FaceIndex((f"p{i}", v) for i, v in enumerate(rng.normal(size=(100_000, 128)).astype(np.float32)))
    recognition = Recognition(detector, encoder, big_index, settings.naming)
    photos = {"2 MP (1732x1237, 3 faces)": photo_2mp(), "12 MP (4000x3000, 9 faces)": photo_12mp()}

    lines = [f"## {args.title}", "", *_header(args.runs, settings, args.command)]
    comparison: dict[str, tuple[dict[str, float], dict[str, float], Run, Run]] = {}
    for label, data in photos.items():
        naive_runs = [naive(data, face_recognition.face_locations, face_recognition.face_encodings, big_index)
                      for _ in range(max(3, args.runs // 2))]
        fast_runs = [fast(data, recognition) for _ in range(args.runs)]
        comparison[label] = (medians(naive_runs), medians(fast_runs), naive_runs[0], fast_runs[0])
        log.info("bench.photo", extra={"photo": label, "naive_ms": round(sum(comparison[label][0].values())),
                                       "photolane_ms": round(sum(comparison[label][1].values()))})
    lines += _stage_table(comparison)
    lines += _closeness(comparison, photos, encoder)
    lines += _sweep(photos["12 MP (4000x3000, 9 faces)"])
    lines += _matching(big_index)
    data = photos["12 MP (4000x3000, 9 faces)"]
    one, two = photos_per_second(data, 1, 6), photos_per_second(data, 2, 12)
    lines += ["### Worker processes (12 MP photo, photolane pipeline)", "",
              "| processes | photos/s | ratio |", "| --- | --- | --- |",
              f"| 1 | {one:.2f} | 1.00 |", f"| 2 | {two:.2f} | {two / one:.2f} |", ""]
    lines += _reading(comparison["12 MP (4000x3000, 9 faces)"][1], _dlib_build())
    section = "\n".join(lines) + "\n"
    if args.out == "-":
        sys.stdout.write(section)
    else:
        splice(Path(args.out), args.section, section)
        log.info("bench.written", extra={"section": args.section, "path": args.out})




def _header(runs: int, settings: ProcessorSettings, command: str) -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    build = _dlib_build()
    return [
        f"Made by `{command}`. Milliseconds per photo,",
        f"medians of {runs} runs (the naive pipeline: {max(3, runs // 2)}), one process, on {os.cpu_count()} cores",
        f"of a shared, noisy machine: {cpu}; dlib from {build}; lossless JPEG mirror "
        f"{'on' if jpeg.available() else 'off (libturbojpeg0 missing)'}.",
        "",
        "- **naive**: what a face_recognition script does: full decode, mirror and re-encode, thumbnail from",
        "  the full image, HOG detection on the full image (upsample 1), encodings on the full image.",
        f"- **photolane**: the processor's `render`: one decode DCT-scaled to at least {settings.work_px} px feeding",
        "  thumbnail, detection and encoding; the flipped copy as a lossless JPEG transform; detection on a",
        f"  copy of at most {settings.detect_max_px} px upsampled {settings.detect_upsample}x; faces smaller than",
        "  dlib's 150 px chip encoded at full resolution from lossless crops around them; all faces through the",
        "  network in one batch.",
        "- **match**: against 100,000 enrolled encodings.", "",
    ]


def _dlib_build() -> str:
    try:
        importlib.metadata.distribution("dlib-bin")
        return "the dlib-bin wheel"
    except importlib.metadata.PackageNotFoundError:
        return "a source build"


def _stage_table(comparison: dict) -> list[str]:
    lines = ["### Per stage", "", "| photo | pipeline | " + " | ".join(STAGES) + " | total | speed-up |",
             "| --- | --- | " + " | ".join("---" for _ in STAGES) + " | --- | --- |"]
    for label, (slow, quick, _, _) in comparison.items():
        for name, stages in (("naive", slow), ("photolane", quick)):
            total = sum(stages.values())
            ratio = sum(slow.values()) / total
            lines.append(f"| {label} | {name} | " + " | ".join(f"{stages[s]:.0f}" for s in STAGES)
                         + f" | **{total:.0f}** | {ratio:.1f}x |")
    return [*lines, ""]


def _closeness(comparison: dict, photos: dict[str, bytes], encoder: FaceEncoder) -> list[str]:
    """How far photolane's encodings are from full-size ones: the scaled decode alone, and all told."""
    lines = ["### Same faces, close encodings", "",
             "Faces found by each pipeline, and the distance (max / mean) of each photolane encoding to the",
             "encoding of the same face from the full-size image: *same boxes* isolates the scaled decode;",
             "*naive* also counts the boxes found at another size. Names are given under 0.6; two photos of",
             "one person are typically 0.3 to 0.5 apart.", "",
             "| photo | faces naive | faces photolane | same boxes | naive |", "| --- | --- | --- | --- | --- |"]
    for label, (_, _, slow, quick) in comparison.items():
        full, _ = open_oriented(photos[label])
        same = encoder.encode(full, quick.boxes)
        resolution = [float(np.linalg.norm(q - f)) for q, f in zip(quick.encodings, same, strict=True)]
        overall = [min(float(np.linalg.norm(q - s)) for s in slow.encodings) for q in quick.encodings]
        lines.append(f"| {label} | {len(slow.boxes)} | {len(quick.boxes)} | "
                     f"{max(resolution):.3f} / {statistics.mean(resolution):.3f} | "
                     f"{max(overall):.3f} / {statistics.mean(overall):.3f} |")
    return [*lines, ""]


def _sweep(photo_12mp_data: bytes) -> list[str]:
    """The detection sizes that keep every face of the test photos, and what each costs."""
    tests = {p.name: p.read_bytes() for p in sorted(FACES.glob("*.jpg"))}
    tests["12 MP collage"] = photo_12mp_data
    expected = {name: (3 if "obama_biden" in name else 2 if "kit_and_rose" in name else 9 if "12 MP" in name else 1)
                for name in tests}
    decoded = {name: open_oriented(data)[0].convert("RGB") for name, data in tests.items()}
    total = sum(n for name, n in expected.items() if "12 MP" not in name)
    lines = ["### Detection size", "",
             f"Faces found in the {len(tests) - 1} test photos ({total} faces) and the 12 MP photo (9 faces), by",
             "the long side of the copy the detector sees and its upsampling; ms: detection on the 12 MP photo.",
             "", "| detect px | upsample | test photos | 12 MP | all kept | ms (12 MP) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for max_px, upsample in ((640, 1), (800, 1), (1000, 1), (1280, 1), (1000, 0), (1600, 0), (2000, 0)):
        detector = FaceDetector(max_px, upsample)
        found = {name: len(detector.detect(image)) for name, image in decoded.items()}
        small = sum(min(found[n], expected[n]) for n in found if "12 MP" not in n)
        start = time.perf_counter()
        detector.detect(decoded["12 MP collage"])
        ms = _lap(start)
        kept = all(found[n] == expected[n] for n in found)
        lines.append(f"| {max_px} | {upsample} | {small}/{total} | {found['12 MP collage']}/9 | "
                     f"{'yes' if kept else 'no'} | {ms:.0f} |")
    return [*lines, ""]


def _reading(quick: dict[str, float], build: str) -> list[str]:
    per_face = quick["encode"] / 9
    rest = sum(v for k, v in quick.items() if k != "encode")
    lines = ["### Reading", "",
             f"On the 12 MP photo, encoding takes {quick['encode']:.0f} ms ({per_face:.0f} ms a face) of the "
             f"{sum(quick.values()):.0f} ms; everything else {rest:.0f} ms. Encoding is dlib's ResNet, whose speed",
             f"depends on how dlib was built (here: {build}; OPENBLAS_NUM_THREADS="
             f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})."]
    if build == "the dlib-bin wheel":
        lines.append("The processor image builds dlib with AVX2 and OpenBLAS; `make bench-image` measures it there.")
    return [*lines, ""]


def _matching(index: FaceIndex) -> list[str]:
    queries = np.random.default_rng(1).normal(size=(9, 128)).astype(np.float32)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        index.match(queries, 0.6)
        times.append(_lap(start))
    return ["### Matching", "", f"9 faces against {len(index):,} encodings: median {statistics.median(times):.1f} ms "
            "(one matrix product; the index is rebuilt only when the people change).", ""]


if __name__ == "__main__":
    main()
