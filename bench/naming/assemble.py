"""Labelled face encodings of real people, for benchmarking naming: photolane's own detector and encoder
run over public labelled face collections.

Where the data came from: git snapshots of public GitHub repositories that hold a labelled face
collection as plain JPEGs (see data/README.md for the repositories, their commits and the collections'
citation terms). Nothing is downloaded here: ``--mirror`` is a bare git directory already on disk.

Two steps:

``encode`` reads every photo of one collection out of the git directory (no work tree needed),
decodes it with photolane's decoder (Pillow), detects faces with ``FaceDetector()`` (HOG, 1024 px,
upsample 1), keeps the face whose box centre is nearest the photo's centre (a labelled photo is
centred on its person), and encodes those faces with ``FaceEncoder().encode_many`` in batches, on
``--workers`` processes. Each photo's result is appended to a JSONL cache as it comes, so a run that
is stopped picks up where it left off.

``build`` turns one or more caches into data/faces.npz (``encodings`` (n, 128), float16 past 15,000
rows, ``person`` (n,) int32), data/faces.csv (person index, label, source) and prints the counts and
the distance statistics that data/README.md reports. With ``--from-data FOLDER`` it also keeps the
rows of an existing faces.npz + faces.csv (their label, source and encoding as they are) of every
collection none of the caches is of: a collection whose cache is gone need not be encoded again to add
another one (what those rows cannot tell: how many photos had no face, which were grey or the same
bytes, is left out of the counts). The folder is read before ``--out`` is written, so it may be the same.

Rerun from the photos (from the repository root, with the venv; ``--mirror`` a bare clone, ``git clone
--bare``, of the repository named by ``--repo``; LFW about 25 min on 2 cores)::

    .venv/bin/python bench/naming/assemble.py encode --mirror LFW.git \\
        --repo umass-vis-lfw/umass-vis-lfw.github.io --prefix images/
    .venv/bin/python bench/naming/assemble.py encode --mirror member_photos.git \\
        --repo voteview/member_photos --commit 687cf7a9212a445431ad7441d8bfd0b7bf297eff \\
        --prefix images/bio_guide/ --labels members.csv --unlike bench/naming/data/faces.csv
    .venv/bin/python bench/naming/assemble.py build --out bench/naming/data \\
        ~/.cache/photolane/naming/umass-vis-lfw+umass-vis-lfw.github.io@2a620cd8cceb+images.jsonl \\
        ~/.cache/photolane/naming/voteview+member_photos@687cf7a9212a+images_bio_guide.jsonl

How the data was built (LFW's cache was no longer at hand: its rows are those of the LFW-only
faces.npz + faces.csv, 13,153 faces, kept as they were; the Congress portraits from their cache)::

    .venv/bin/python bench/naming/assemble.py build --out bench/naming/data --from-data bench/naming/data \\
        ~/.cache/photolane/naming/voteview+member_photos@687cf7a9212a+images_bio_guide.jsonl

(run again, it gives the same data: the rows of the Congress portraits come from their cache again, the
LFW rows from the data.)

Layouts: ``--prefix P`` with photos at ``P<label>/<file>.jpg`` (LFW), or additionally ``--labels F``,
a text file (in the repository, or in ``--labels-mirror``) whose lines are ``<file> <label>``, with
photos at ``P<file>`` (CelebA, whose identity file and photos are in different repositories), or a
``.csv`` like voteview's members.csv (columns ``image``: the photo's path in the repository, ``name``:
``LAST, Given (Nickname), Jr.``, ``born``), labelled ``Given Last (born)``, so that one person under
two ids is one person, and a photo filed twice (the same blob) read once. ``--unlike F`` leaves out
the people whose first and last name (case-insensitive; the nickname counts as a first name) are
those of a label in F, another collection's ``faces.csv`` or cache: people in both collections under
two labels would be two people to the benchmark (the rows of F from the repository being encoded
itself are not counted, so faces.csv may already hold it).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "photolane" / "naming"
DATA = Path(__file__).resolve().parent / "data"
FLOAT16_PAST = 15_000


@dataclass(frozen=True)
class Photo:
    path: str
    blob: str
    label: str


# -- reading the collection out of git --------------------------------------------------------------
SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}


def name_keys(label: str) -> set[tuple[str, str]]:
    """(first, last) names of a label, lower case: ``George_W_Bush`` (LFW) or ``George W Bush (1946)``."""
    words = [w for w in re.split(r"[\s_]+", re.sub(r"\(\d*\)", " ", label))
             if w and w.lower().strip(".") not in SUFFIXES]
    return {(words[0].lower(), words[-1].lower())} if len(words) > 1 else set()


def _cased(surname: str) -> str:
    """``McCAIN`` → ``McCain``, ``O'NEILL`` → ``O'Neill``: a capital after a capital is lowered."""
    return "".join(c.lower() if i and surname[i - 1].isupper() else c for i, c in enumerate(surname))


def member(name: str, born: str) -> tuple[str, set[tuple[str, str]]]:
    """voteview's ``LAST, Given Middle (Nickname), Jr.`` → the label ``Given Middle Last (born)`` (two
    Timothy Johnsons were born in 1946), and the (first, last) names they go by: the given name's and the
    nickname's."""
    surname, _, rest = name.partition(",")
    nicks = [n.split()[0] for n in re.findall(r"\(([^)]*)\)", rest) if n.split()]
    given = [w for w in re.sub(r"\([^)]*\)", " ", rest).replace(",", " ").split()
             if w.lower().strip(".") not in SUFFIXES]
    last = _cased(surname.strip())
    label = " ".join([*given, last]) + (f" ({born})" if born else "")
    return label, {(first.lower(), last.split()[-1].lower()) for first in given[:1] + nicks}


def labels_of(path: str, but: str = "") -> set[str]:
    """The labels of a faces.csv or of a JSONL cache, but those of the repository ``but`` (owner/name)."""
    if path.endswith(".jsonl"):
        lines = Path(path).read_text().splitlines()
        if json.loads(lines[0])["repo"] == but:
            return set()
        return {json.loads(line)["label"] for line in lines[1:]}
    with open(path, newline="") as file:
        return {row["label"] for row in csv.DictReader(file) if not row["source"].startswith(f"{but}@")}


def git(mirror: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], check=True, capture_output=True,
                          text=True).stdout


def list_photos(mirror: Path, commit: str, prefix: str, labels: str | None = None,
                labels_mirror: Path | None = None, label_prefix: str = "",
                unlike: set[tuple[str, str]] | None = None) -> tuple[list[Photo], set[str]]:
    """Every labelled photo under ``prefix`` at ``commit``, in path order; the labels from the folder
    names, or from ``labels`` (at the HEAD of ``labels_mirror``, by default the same repository). Also
    the labels left out because their names are in ``unlike``."""
    blobs: dict[str, str] = {}
    for line in git(mirror, "ls-tree", "-r", "-z", commit, "--", prefix).split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            blobs[path] = meta.split()[2]
    photos: list[Photo] = []
    dropped: set[str] = set()
    if labels is None:
        pattern = re.compile(rf"^{re.escape(prefix)}([^/]+)/[^/]+\.(?:jpe?g|png)$", re.IGNORECASE)
        for path, blob in blobs.items():
            if match := pattern.match(path):
                photos.append(Photo(path, blob, label_prefix + match.group(1)))
    else:
        source = (labels_mirror, "HEAD") if labels_mirror else (mirror, commit)
        text = git(source[0], "show", f"{source[1]}:{labels}")
        if labels.endswith(".csv"):  # voteview's members.csv: a photo filed under two ids is read once
            read: set[str] = set()
            for row in sorted(csv.DictReader(text.splitlines()), key=lambda r: r["image"]):
                if (path := row["image"]).startswith(prefix) and path in blobs and blobs[path] not in read:
                    read.add(blobs[path])
                    label, names = member(row["name"], row["born"])
                    photos.append(Photo(path, blobs[path], label_prefix + label))
                    if names & (unlike or set()):
                        dropped.add(label_prefix + label)
        else:
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 2 and (path := prefix + parts[0]) in blobs:
                    photos.append(Photo(path, blobs[path], label_prefix + parts[1]))
    dropped |= {p.label for p in photos if name_keys(p.label) & (unlike or set())}
    return sorted((p for p in photos if p.label not in dropped), key=lambda p: p.path), dropped


def read_blobs(mirror: Path, photos: list[Photo]) -> Iterator[tuple[Photo, bytes]]:
    """The photos' bytes, in order, through one ``git cat-file --batch``."""
    proc = subprocess.Popen(["git", f"--git-dir={mirror}", "cat-file", "--batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdin and proc.stdout
    try:
        for photo in photos:
            proc.stdin.write(f"{photo.blob}\n".encode())
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise RuntimeError(f"{photo.path}: not in the snapshot ({header!r})")
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the content
            yield photo, data
    finally:
        proc.stdin.close()
        proc.wait()


# -- detecting and encoding, in worker processes ------------------------------------------------
_WORKER: tuple[object, object] | None = None


def _start_worker() -> None:
    global _WORKER
    from photolane_processor.faces import FaceDetector, FaceEncoder

    _WORKER = (FaceDetector(), FaceEncoder())


def nearest_centre(boxes: list[tuple[int, int, int, int]], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The (top, right, bottom, left) box whose centre is nearest the image's centre."""
    cx, cy = size[0] / 2, size[1] / 2
    return min(boxes, key=lambda b: ((b[1] + b[3]) / 2 - cx) ** 2 + ((b[0] + b[2]) / 2 - cy) ** 2)


def encode_batch(batch: list[tuple[str, bytes]]) -> list[dict[str, object]]:
    """For each (path, bytes): how many faces, whether it is grey, and the centred face's encoding."""
    from photolane_processor.faces import FaceDetector, FaceEncoder
    from photolane_processor.imaging import UnreadableImage, open_oriented

    assert _WORKER is not None
    detector, encoder = _WORKER
    assert isinstance(detector, FaceDetector) and isinstance(encoder, FaceEncoder)
    results: list[dict[str, object]] = []
    work = []
    for path, data in batch:
        try:
            image, _ = open_oriented(data)
        except UnreadableImage:
            results.append({"path": path, "faces": -1})
            continue
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        grey = image.mode in ("L", "LA", "1") or int(np.abs(rgb - rgb[..., :1]).max()) <= 8
        boxes = detector.detect(image)
        results.append({"path": path, "faces": len(boxes), "grey": grey, "size": list(image.size)})
        work.append((image, [nearest_centre(boxes, image.size)] if boxes else []))
    encodings = encoder.encode_many(work)
    for result, found in zip((r for r in results if r["faces"] != -1), encodings, strict=True):
        result["enc"] = [round(float(v), 6) for v in found[0]] if found else None
    return results


def encode(args: argparse.Namespace) -> None:
    mirror = Path(args.mirror)
    commit = git(mirror, "rev-parse", args.commit).strip()
    labels_mirror = Path(args.labels_mirror) if args.labels_mirror else None
    unlike = ({key for label in labels_of(args.unlike, but=args.repo) for key in name_keys(label)}
              if args.unlike else None)
    photos, dropped = list_photos(mirror, commit, args.prefix, args.labels, labels_mirror, args.label_prefix,
                                  unlike)
    people = Counter(p.label for p in photos)
    print(f"{args.repo}@{commit}: {len(photos):,} photos of {len(people):,} people", flush=True)
    if args.unlike:
        print(f"left out, their names in {args.unlike}: {len(dropped):,} people", flush=True)
    folder = args.prefix.strip("/").replace("/", "_") or "root"
    cache = Path(args.cache) / f"{args.repo.replace('/', '+')}@{commit[:12]}+{folder}.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    header = {"repo": args.repo, "commit": commit, "prefix": args.prefix, "label_prefix": args.label_prefix}
    if args.labels:
        where = labels_mirror or mirror
        header["labels"] = f"{args.labels_repo or args.repo}@{git(where, 'rev-parse', 'HEAD').strip()}:{args.labels}"
    if args.unlike:
        header["unlike"] = {"names_of": args.unlike, "people_left_out": len(dropped)}
    done: set[str] = set()
    if cache.exists():
        text = cache.read_text()
        if not text.endswith("\n"):  # stopped in the middle of a line: that photo is done again
            text = text[: text.rfind("\n") + 1]
            cache.write_text(text)
        done = {json.loads(line)["path"] for line in text.splitlines()[1:]}
    else:
        cache.write_text(json.dumps(header) + "\n")
    todo = [p for p in photos if p.path not in done][: args.limit]
    print(f"{len(done):,} already in {cache}; {len(todo):,} to do on {args.workers} workers", flush=True)
    by_path = {p.path: p for p in todo}

    def batches() -> Iterator[list[tuple[str, bytes]]]:
        batch: list[tuple[str, bytes]] = []
        for photo, data in read_blobs(mirror, todo):
            batch.append((photo.path, data))
            if len(batch) == args.batch:
                yield batch
                batch = []
        if batch:
            yield batch

    start, count, faceless = time.monotonic(), 0, 0
    with multiprocessing.get_context("fork").Pool(args.workers, _start_worker) as pool, cache.open("a") as out:
        for results in pool.imap(encode_batch, batches()):
            for result in results:
                photo = by_path[str(result["path"])]
                out.write(json.dumps({**result, "blob": photo.blob, "label": photo.label}) + "\n")
                faceless += result.get("enc") is None
            out.flush()
            count += len(results)
            if count % (args.batch * 25) < args.batch or count == len(todo):
                rate = count / (time.monotonic() - start)
                print(f"  {count:,}/{len(todo):,} photos, {rate:.1f}/s, {faceless} without a face, "
                      f"{(len(todo) - count) / rate / 60:.1f} min left", flush=True)
    if count:
        print(f"{count:,} photos in {time.monotonic() - start:.0f} s ({count / (time.monotonic() - start):.1f}/s)")


# -- building the data set ------------------------------------------------------------------------
@dataclass
class Row:
    label: str
    source: str
    blob: str  # "" when not known (a row kept from an existing faces.csv)
    grey: bool | None  # None: not known
    enc: np.ndarray


def collection(source: str) -> str:
    """``owner/repo@commit`` of a source ``owner/repo@commit:path``."""
    return source.split(":", 1)[0]


def from_data(folder: Path, but: set[str]) -> list[Row]:
    """The rows of an existing faces.npz + faces.csv whose collection (``owner/repo@commit``) is not in
    ``but``: label, source and encoding as they are (as float32)."""
    with np.load(folder / "faces.npz") as data:
        encodings, person = data["encodings"].astype(np.float32), data["person"]
    with open(folder / "faces.csv", newline="") as file:
        listed = list(csv.DictReader(file))
    if len(listed) != len(encodings) or any(int(r["person"]) != p for r, p in zip(listed, person, strict=True)):
        raise SystemExit(f"{folder}: faces.csv and faces.npz do not agree")
    return [Row(r["label"], r["source"], "", None, e) for r, e in zip(listed, encodings, strict=True)
            if collection(r["source"]) not in but]


def load(caches: list[str], data: Path | None = None) -> tuple[list[Row], Counter[str]]:
    """The encoded photos of every cache (after, with ``data``, the rows of that folder's faces.csv of
    the other collections), and how many had no face in each cache; a photo already loaded under the
    same label and file name (the same photo in two copies of a collection) is left out."""
    heads = {name: json.loads(Path(name).read_text().split("\n", 1)[0]) for name in caches}
    rows = from_data(data, {f"{h['repo']}@{h['commit']}" for h in heads.values()}) if data else []
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = {(r.label, r.source.rsplit("/", 1)[-1]) for r in rows}
    for name in caches:
        lines = Path(name).read_text().splitlines()
        head = heads[name]
        tag = f"{head['repo']}@{head['commit']}"
        for line in lines[1:]:
            item = json.loads(line)
            key = (item["label"], item["path"].rsplit("/", 1)[-1])
            if key in seen:
                skipped["same photo, another copy"] += 1
                continue
            seen.add(key)
            if item.get("enc") is None:
                skipped[tag] += 1
            else:
                rows.append(Row(item["label"], f"{tag}:{item['path']}", item["blob"], bool(item["grey"]),
                                np.asarray(item["enc"], dtype=np.float32)))
    return rows, skipped


def distance_stats(enc: np.ndarray, person: np.ndarray, rng: np.random.Generator, pairs: int = 200_000,
                   cap: int = 20) -> None:
    """Same-person against different-person (sampled) euclidean distances. The same-person pairs are
    every pair among at most ``cap`` photos of each person, so that a few people photographed hundreds of
    times (LFW's George_W_Bush: 530) do not make up most of them."""
    groups = [np.flatnonzero(person == p)[:cap] for p in np.unique(person)]
    same = np.concatenate([np.linalg.norm(enc[g][:, None] - enc[g][None], axis=-1)[np.triu_indices(len(g), 1)]
                           for g in groups if len(g) > 1])
    a, b = rng.integers(0, len(enc), pairs), rng.integers(0, len(enc), pairs)
    keep = person[a] != person[b]
    diff = np.linalg.norm(enc[a[keep]] - enc[b[keep]], axis=-1)
    for name, d in (("same person", same), ("different people", diff)):
        p = np.percentile(d, [1, 5, 25, 50, 75, 95, 99])
        print(f"{name:>16}: {len(d):,} pairs, mean {d.mean():.3f}, p1/5/25/50/75/95/99 "
              + " ".join(f"{v:.3f}" for v in p))
    for t in (0.6, 0.5, 0.4):
        print(f"  at {t}: true match {np.mean(same <= t):.2%} of same-person pairs, "
              f"false match {np.mean(diff <= t):.4%} of different-people pairs")


def near_pairs(enc: np.ndarray, person: np.ndarray, limit: float) -> list[tuple[float, int, int]]:
    """Pairs of rows of different people closer than ``limit``, a block of rows at a time."""
    found: list[tuple[float, int, int]] = []
    sq = (enc.astype(np.float32) ** 2).sum(axis=1)
    for start in range(0, len(enc), 2048):
        block = enc[start:start + 2048].astype(np.float32)
        d2 = sq[start:start + 2048, None] + sq[None] - 2 * block @ enc.T.astype(np.float32)
        for a, b in zip(*np.nonzero(d2 < limit**2), strict=True):
            if start + a < b and person[start + a] != person[b]:
                found.append((float(np.sqrt(max(d2[a, b], 0))), int(start + a), int(b)))
    return sorted(found)


def odd_ones(enc: np.ndarray, person: np.ndarray, limit: float = 0.6) -> list[int]:
    """Rows whose median distance to the other photos of their person is over ``limit``: most likely
    another face of the photo, or a wrong label."""
    odd: list[int] = []
    for p in np.unique(person):
        group = np.flatnonzero(person == p)
        if len(group) >= 3:
            d = np.linalg.norm(enc[group][:, None] - enc[group][None], axis=-1)
            median = np.nanmedian(np.where(np.eye(len(group), dtype=bool), np.nan, d), axis=1)
            odd.extend(int(i) for i in group[np.nan_to_num(median) > limit])
    return odd


def build(args: argparse.Namespace) -> None:
    rows, skipped = load(args.caches, Path(args.from_data) if args.from_data else None)
    labels = sorted({r.label for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    rows.sort(key=lambda r: (index[r.label], r.source))
    enc = np.stack([r.enc for r in rows])
    person = np.asarray([index[r.label] for r in rows], dtype=np.int32)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = np.float16 if len(rows) > FLOAT16_PAST else np.float32
    np.savez_compressed(out / "faces.npz", encodings=enc.astype(dtype), person=person)
    with (out / "faces.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["person", "label", "source"])
        writer.writerows([index[r.label], r.label, r.source] for r in rows)

    per = Counter(r.label for r in rows)
    copies = skipped.pop("same photo, another copy", 0)
    print(f"{len(rows):,} encodings ({dtype.__name__}) of {len(labels):,} people; skipped (no face): "
          f"{sum(skipped.values()):,} {dict(skipped)}; left out as copies of a photo already in: {copies:,}")
    print("people with >= k photos: " + ", ".join(f"{k}: {sum(n >= k for n in per.values()):,}" for k in (2, 3, 4, 10)))
    tags = [collection(r.source) for r in rows]
    for tag in sorted(set(tags)):
        mine = [r for r, t in zip(rows, tags, strict=True) if t == tag]
        grey = "not known" if any(r.grey is None for r in mine) else f"{sum(bool(r.grey) for r in mine):,}"
        print(f"  {tag}: {len(mine):,} faces of {len({r.label for r in mine}):,} people, grey photos: {grey}")
    blobs = Counter(r.blob for r in rows if r.blob)
    dupes = [r for r in rows if r.blob and blobs[r.blob] > 1]
    labelled: dict[str, set[str]] = {}
    for r in dupes:
        labelled.setdefault(r.blob, set()).add(r.label)
    print(f"identical photos (same bytes): {len(dupes)} rows, {len(labelled)} distinct, "
          f"under different labels: {sum(len(v) > 1 for v in labelled.values())}")
    twins = near_pairs(enc, person, args.twin)
    across = sum(tags[a] != tags[b] for _, a, b in twins)
    print(f"near-identical faces (< {args.twin}) under different labels: {len(twins)} pairs, "
          f"{across} of them across collections")
    for d, a, b in twins[: args.show]:
        print(f"  {d:.3f} {rows[a].source} ~ {rows[b].source}")
    outliers = odd_ones(enc, person)
    print(f"photos far (median > 0.6) from the other photos of their person (3+ photos): {len(outliers)}")
    for i in outliers[: args.show]:
        print(f"  {rows[i].source}")
    distance_stats(enc, person, np.random.default_rng(0))
    if len(set(tags)) > 1:
        for tag in sorted(set(tags)):
            mine = np.flatnonzero(np.asarray(tags) == tag)
            print(f"{tag} alone:")
            distance_stats(enc[mine], person[mine], np.random.default_rng(0))
    for name in ("faces.npz", "faces.csv"):
        print(f"{name}: {(out / name).stat().st_size / 1e6:.1f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("encode", help="encode one collection from a bare git directory into the cache")
    e.add_argument("--mirror", required=True, help="the bare git directory")
    e.add_argument("--repo", required=True, help="owner/name, for the sources")
    e.add_argument("--commit", default="HEAD")
    e.add_argument("--prefix", required=True, help="the folder holding the photos, with its trailing /")
    e.add_argument("--labels", help="a file in the repository: '<file> <label>' lines (default: folder names)")
    e.add_argument("--labels-mirror", help="the bare git directory holding --labels, when another repository's")
    e.add_argument("--labels-repo", help="owner/name of --labels-mirror, for the record")
    e.add_argument("--label-prefix", default="", help="put before every label (CelebA's are bare numbers)")
    e.add_argument("--unlike", help="leave out people whose names are labels in this faces.csv or cache")
    e.add_argument("--limit", type=int, help="at most this many photos this run (measuring throughput)")
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--batch", type=int, default=16, help="photos per encode_many call")
    e.add_argument("--cache", default=str(CACHE))
    b = sub.add_parser("build", help="caches -> data/faces.npz, data/faces.csv, and the statistics")
    b.add_argument("caches", nargs="+")
    b.add_argument("--out", default=str(DATA))
    b.add_argument("--from-data", help="also keep the rows of this folder's faces.npz + faces.csv of the "
                                       "collections none of the caches is of")
    b.add_argument("--twin", type=float, default=0.1, help="a distance this small is the same photo")
    b.add_argument("--show", type=int, default=20)
    args = parser.parse_args(argv)
    encode(args) if args.command == "encode" else build(args)


if __name__ == "__main__":
    sys.exit(main())
