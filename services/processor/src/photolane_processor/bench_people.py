"""``make bench-people``: the people registry at scale, on one AWS stand-in (moto server), 2 cores.

What it does, in one run (``--people`` N, default 1,000,000; smaller for a quick look):

1. Storm (min(N, 100,000) people, tables of their own): a processor (``python -m photolane_processor``)
   starts from a snapshot of them; photos are sent through the processor's path (record, original,
   job: what the upload service does once its checks pass) one after another, and the time from the
   job to the ``processed`` record is taken, in turn idle and while enrollments arrive once a second
   (each written as the processor's enrollment writes it, announced, and its job sent: the processor
   takes it as a redelivery, so it announces again, heals and re-matches: more than a first delivery
   does, less its one face encoding). ``storm_latency_ratio`` = p50 storm / p50 idle.
2. N people written to the people table and M unknown faces (``--unknown``, default N) to the photos
   table, four to a photo; three made-up people have 100 photos each among them. The indexes'
   snapshots are written by the processor's own code (Mirror.write_snapshot), as a running processor
   would have written them: a full read of a million-item table from moto would take the server
   hours (its Scan sorts the whole table for every 1 MB page), which says nothing about DynamoDB.
3. A cold processor (a fresh process): ``cold_start_s`` (feed head, snapshot, the changes since),
   ``worker_mb`` (its resident memory grown by the people index), ``match_ms`` (9 faces),
   ``apply_change_ms`` (an enrollment or a deletion made elsewhere, then ``refresh``: feed, entry,
   record, rows), ``rematch_s`` (the enrollment of each made-up person: both indexes, the 100 photos
   read, renamed, filed and announced; checked to name exactly those 100).

Encodings are synthetic, with the spread of dlib's: made-up people about 0.9 apart, a person's own
photos about 0.35 from each other. Prints ``people <name> <value>`` lines at the end and rewrites its
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from photolane_common import aws, logs
from photolane_common.benchmarks import splice
from photolane_common.domain import QUEUED, Photo
from photolane_common.feed import ChangeFeed
from photolane_common.messages import PersonPhotoAdded, PhotoUploaded
from photolane_common.people import PEOPLE_FEED, PeopleStore
from photolane_common.photos import UNKNOWN_FEED, PhotoStore, pending_shard
from photolane_common.resources import ensure_resources
from photolane_common.settings import CommonSettings

from .matching import to_bytes

FACES = Path(os.environ.get("PHOTOLANE_BENCH_FACES", "tests/fixtures/faces"))
SPREAD = 0.9 / np.sqrt(2 * 128)  # per value: two made-up people ~0.9 apart
NOISE = 0.35 / np.sqrt(2 * 128)  # per value: two photos of one person ~0.35 apart
PLANTED, PLANTED_PHOTOS, FACES_PER_PHOTO = 3, 100, 4
log = logging.getLogger("photolane.bench")




# -- the stand-in and one set of resources ---------------------------------------------------------
def _start_standin(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    from photolane.standin import free_port, start_standin, wait_for_standin

    port = free_port()
    process = start_standin(port, open(folder / "standin.log", "ab"))
    url = f"http://127.0.0.1:{port}"
    wait_for_standin(url, process)
    return process, url


def _environment(url: str, suffix: str) -> dict[str, str]:
    from photolane.standin import STANDIN_ENV

    return {**STANDIN_ENV, "AWS_ENDPOINT_URL": url, "PHOTOLANE_BUCKET": f"bench-{suffix}",
            "PHOTOLANE_PHOTOS_TABLE": f"photos-{suffix}", "PHOTOLANE_PEOPLE_TABLE": f"people-{suffix}",
            "PHOTOLANE_SETTINGS_TABLE": f"settings-{suffix}", "PHOTOLANE_FACES_TABLE": f"faces-{suffix}",
            "PHOTOLANE_JOBS_QUEUE": f"jobs-{suffix}", "PHOTOLANE_NOTIFICATIONS_QUEUE": f"notes-{suffix}",
            "PHOTOLANE_EVENTS_TOPIC": f"events-{suffix}", "PHOTOLANE_LOG_LEVEL": "WARNING"}


def _use(env: dict[str, str]) -> CommonSettings:
    for key in [k for k in os.environ if k.startswith("PHOTOLANE_")]:
        del os.environ[key]
    os.environ.update(env)
    settings = CommonSettings()
    ensure_resources(settings)
    return settings


# -- writing many records fast (raw BatchWriteItem, as the stores would write them) ----------------
def _when() -> dict[str, str]:
    return {"S": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")}


def _person_item(person_id: str, encoding: np.ndarray) -> dict[str, Any]:
    photo = {"M": {"key": {"S": f"people/{person_id}/1.jpg"}, "status": {"S": "enrolled"},
                   "encoding": {"B": to_bytes(encoding)}}}
    return {"id": {"S": person_id}, "name": {"S": f"Person {person_id[:8]}"}, "status": {"S": "enrolled"},
            "created_at": _when(), "updated_at": _when(), "photos": {"L": [photo]}, "version": {"N": "1"}}


def _photo_item(photo_id: str, encodings: np.ndarray) -> dict[str, Any]:
    faces = [{"M": {"top": {"N": "10"}, "right": {"N": "60"}, "bottom": {"N": "60"}, "left": {"N": "10"},
                    "encoding": {"B": to_bytes(e)}, "cluster": {"S": _cluster(photo_id, i)}}}
             for i, e in enumerate(encodings)]
    return {"id": {"S": photo_id}, "status": {"S": "processed"}, "created_at": _when(), "updated_at": _when(),
            "content_type": {"S": "image/jpeg"}, "original_key": {"S": f"originals/{photo_id}.jpg"},
            "results_key": {"S": f"results/{photo_id}.csv"}, "faces": {"L": faces},
            "unknown": {"S": pending_shard(photo_id)}}


def _write_all(settings: CommonSettings, table: str, items: Any, total: int, what: str) -> None:
    dynamodb = aws.client("dynamodb", settings)
    started, done, lock = time.monotonic(), [0], threading.Lock()

    def batch(chunk: list[dict[str, Any]]) -> None:
        request = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        with lock:
            done[0] += len(chunk)
            if done[0] % 50_000 < len(chunk):
                log.info("bench.written_records", extra={"what": what, "done": done[0], "total": total,
                                                          "s": round(time.monotonic() - started)})

    with ThreadPoolExecutor(4) as pool:
        chunk: list[dict[str, Any]] = []
        pending = []
        for item in items:
            chunk.append(item)
            if len(chunk) == 25:
                pending.append(pool.submit(batch, chunk))
                chunk = []
            if len(pending) > 64:
                pending.pop(0).result()
        if chunk:
            pending.append(pool.submit(batch, chunk))
        for future in pending:
            future.result()


def _made_up(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.normal(0, SPREAD, (n, 128)) + 0.0).astype(np.float32)


def _enroll_people(settings: CommonSettings, n: int, rng: np.random.Generator) -> None:
    """n people in the table, and the people index's snapshot as a processor would have written it."""
    from .known import KnownPeople
    from .vectors import VectorSet

    ids = [str(uuid.uuid4()) for _ in range(n)]
    encodings = _made_up(n, rng)
    _write_all(settings, settings.people_table, (_person_item(i, e) for i, e in zip(ids, encodings, strict=True)),
               n, "people")
    known = KnownPeople(PeopleStore(), aws_blobs(settings))
    known.vectors = VectorSet.from_arrays(ids, np.zeros(n, dtype=np.int32), encodings)
    known.number = ChangeFeed(PEOPLE_FEED).head()
    known.write_snapshot()


def _cluster(photo_id: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"photolane:face:{photo_id}#{index}"))


def _file_unknown_faces(settings: CommonSettings, m: int, rng: np.random.Generator) -> list[np.ndarray]:
    """m unknown faces, four a photo, with three made-up people in 100 photos each; their snapshot."""
    from .known import UnknownFaces
    from .vectors import VectorSet

    photos = max(m // FACES_PER_PHOTO, PLANTED * PLANTED_PHOTOS)
    ids = [str(uuid.uuid4()) for _ in range(photos)]
    encodings = _made_up(photos * FACES_PER_PHOTO, rng).reshape(photos, FACES_PER_PHOTO, 128)
    planted = _made_up(PLANTED, rng)
    for p in range(PLANTED):  # face 0 of photos p*100 .. p*100+99 is made-up person p
        for k in range(PLANTED_PHOTOS):
            encodings[p * PLANTED_PHOTOS + k, 0] = planted[p] + rng.normal(0, NOISE, 128)
    _write_all(settings, settings.photos_table,
               (_photo_item(i, e) for i, e in zip(ids, encodings, strict=True)), photos, "photos")
    unknown = UnknownFaces(PhotoStore(), aws_blobs(settings))
    owners = [i for i in ids for _ in range(FACES_PER_PHOTO)]
    slots = np.tile(np.arange(FACES_PER_PHOTO, dtype=np.int32), photos)
    tags = [_cluster(o, int(s)) for o, s in zip(owners, slots, strict=True)]
    unknown.vectors = VectorSet.from_arrays(owners, slots, encodings.reshape(-1, 128), tags)
    unknown.number = ChangeFeed(UNKNOWN_FEED).head()
    unknown.write_snapshot()
    return [planted[p] + rng.normal(0, NOISE, 128).astype(np.float32) for p in range(PLANTED)]


def aws_blobs(settings: CommonSettings) -> aws.BlobStore:
    return aws.BlobStore(aws.client("s3", settings), settings.bucket)


def _new_person(people: PeopleStore, encoding: np.ndarray) -> str:
    """What an enrollment writes (the person, then the photo's encoding), without the photo's decoding."""
    person_id = str(uuid.uuid4())
    key = f"people/{person_id}/1.jpg"
    people.create(person_id, f"Made-up {person_id[:8]}", {}, key)
    people.photo_enrolled(person_id, key, to_bytes(encoding))
    return person_id


# -- a cold processor, in a process of its own ----------------------------------------------------
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cold(planted: list[list[float]], runs: int) -> dict[str, Any]:
    """Run in a fresh process: load, match, apply changes, re-match. Returns the figures."""
    from .bootstrap import build_deps
    from .handlers import rematch
    from .settings import ProcessorSettings

    logs.configure("processor", "INFO")  # stderr: the cold processor's own events (cold.log)
    deps = build_deps(ProcessorSettings())
    before = _rss_mb()
    started = time.perf_counter()
    deps.known.refresh()
    cold_start = time.perf_counter() - started
    worker_mb = _rss_mb() - before
    rng = np.random.default_rng(7)
    index = deps.known.index
    match = []
    for _ in range(max(runs, 15)):
        queries = _made_up(9, rng)
        t = time.perf_counter()
        index.match(queries, 0.6)
        match.append((time.perf_counter() - t) * 1000)
    apply_enroll, apply_delete = [], []
    for _ in range(max(runs, 10)):
        person_id = _new_person(deps.people, _made_up(1, rng)[0])
        deps.people.announce(person_id)
        t = time.perf_counter()
        deps.known.refresh()
        apply_enroll.append((time.perf_counter() - t) * 1000)
        deps.people.delete(person_id)
        deps.people.announce(person_id)
        t = time.perf_counter()
        deps.known.refresh()
        apply_delete.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    deps.unknown.refresh()
    unknown_load = time.perf_counter() - t
    rematches, named = [], []
    for encoding in planted:
        person_id = _new_person(deps.people, np.asarray(encoding, dtype=np.float32))
        deps.people.announce(person_id)
        deps.known.refresh()  # as the processor's tick does between jobs: the changes of the run before
        deps.unknown.refresh()
        t = time.perf_counter()
        named.append(rematch(person_id, deps))
        rematches.append(time.perf_counter() - t)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cold_start_s": cold_start, "worker_mb": worker_mb, "rows": len(deps.known.vectors),
            "index_mb": deps.known.vectors.nbytes / 2**20, "peak_mb": peak_mb,
            "match_ms": statistics.median(match), "apply_enroll_ms": statistics.median(apply_enroll),
            "apply_delete_ms": statistics.median(apply_delete), "unknown_load_s": unknown_load,
            "unknown_rows": len(deps.unknown.vectors), "unknown_mb": deps.unknown.vectors.nbytes / 2**20,
            "rematch_s": statistics.median(rematches), "rematch_named": named}


def _cold_in_a_process(folder: Path, env: dict[str, str], planted: list[np.ndarray], runs: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "photolane_processor.bench_people", "--cold",
               json.dumps([p.tolist() for p in planted]), "--runs", str(runs)]
    log_path = folder / "cold.log"
    with open(log_path, "w") as log_file:
        # As `python -m photolane_processor` runs: one BLAS thread a product (its __main__ sets it).
        result = subprocess.run(command, env={**os.environ, **env, "OPENBLAS_NUM_THREADS": "1"},
                                stdout=subprocess.PIPE, stderr=log_file,
                                text=True, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"the cold processor failed (exit {result.returncode}; its log: {log_path}):\n"
                           f"{log_path.read_text()[-3000:]}\n{result.stdout[-1000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the storm -------------------------------------------------------------------------------------
def _photo_latencies(settings: CommonSettings, data: bytes, count: int) -> list[float]:
    photos, blobs = PhotoStore(), aws_blobs(settings)
    jobs = aws.MessageQueue.named(aws.client("sqs", settings), settings.jobs_queue)
    latencies = []
    for _ in range(count):
        photo_id = str(uuid.uuid4())
        key = f"originals/{photo_id}.jpg"
        now = datetime.now(UTC)
        started = time.perf_counter()
        blobs.put(key, data, "image/jpeg")
        photos.create(Photo(id=photo_id, status=QUEUED, created_at=now, updated_at=now, content_type="image/jpeg",
                            original_key=key))
        jobs.send(PhotoUploaded(photo_id=photo_id, original_key=key))
        while (photo := photos.get(photo_id)) is None or photo.status == QUEUED or photo.status == "processing":
            time.sleep(0.02)
        latencies.append(time.perf_counter() - started)
    return latencies


def storm(folder: Path, url: str, people: int, photos: int) -> dict[str, Any]:
    env = _environment(url, "storm")
    settings = _use(env)
    rng = np.random.default_rng(3)
    log.info("bench.storm_people", extra={"people": people})
    _enroll_people(settings, people, rng)
    log_file = open(folder / "processor.log", "ab")
    processor = subprocess.Popen([sys.executable, "-m", "photolane_processor"], env={**os.environ, **env,
                                 "PHOTOLANE_HEALTH_FILE": str(folder / "health"), "PHOTOLANE_POLL_WAIT_SECONDS": "1",
                                 "PHOTOLANE_LOG_LEVEL": "INFO"}, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        log.info("bench.storm_photos", extra={"phases": "idle, storm, idle, storm, idle", "photos": photos})
        data = (FACES / "group_obama_biden_and_one_more.jpg").read_bytes()
        _photo_latencies(settings, data, 2)  # warm: the index loaded, the model in memory
        idle: list[float] = []
        during: list[float] = []
        enrolled = [0]

        def enroll_every_second(stop: threading.Event) -> None:
            store = PeopleStore()
            jobs = aws.MessageQueue.named(aws.client("sqs", settings), settings.jobs_queue)
            while not stop.is_set():
                person_id = _new_person(store, _made_up(1, rng)[0])
                store.announce(person_id)
                jobs.send(PersonPhotoAdded(person_id=person_id, photo_key=f"people/{person_id}/1.jpg"))
                enrolled[0] += 1
                stop.wait(1.0)

        for phase in ("idle", "storm", "idle", "storm", "idle"):  # alternated: the machine's drift evens out
            if phase == "idle":
                idle += _photo_latencies(settings, data, photos)
                continue
            stop = threading.Event()
            enroller = threading.Thread(target=enroll_every_second, args=(stop,), daemon=True)
            enroller.start()
            during += _photo_latencies(settings, data, photos)
            stop.set()
            enroller.join()
    finally:
        processor.terminate()
        processor.wait(30)
        log_file.close()
    return {"people": people, "idle_p50_s": statistics.median(idle), "storm_p50_s": statistics.median(during),
            "enrolled": enrolled[0], "photos": len(idle) + len(during),
            "storm_latency_ratio": statistics.median(during) / statistics.median(idle)}


# -- the report ------------------------------------------------------------------------------------
def _section(n: int, m: int, figures: dict[str, Any], stormed: dict[str, Any], command: str, took: float) -> str:
    f, s = figures, stormed
    storm = (f"{s['storm_latency_ratio']:.2f} ({s['storm_p50_s'] * 1000:.0f} ms / {s['idle_p50_s'] * 1000:.0f} ms; "
             f"{s['enrolled']} enrollments, {s['photos']} photos)")
    named = ", ".join(map(str, f["rematch_named"]))
    return f"""## People at scale (make bench-people)

`{command}` — {n:,} people, {m:,} unknown faces; one moto server; {platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}, numpy {np.__version__}; the whole run took {took / 60:.0f} min. Medians.
Encodings are synthetic (dlib's spread); how the run works: the docstring of \
`services/processor/src/photolane_processor/bench_people.py`.

| figure | value | target |
|---|---|---|
| `apply_change_ms`: an enrollment made elsewhere, applied by `refresh` \
| {f['apply_enroll_ms']:.1f} ms (a deletion: {f['apply_delete_ms']:.1f} ms) | ≤ 50 ms |
| `cold_start_s`: a cold processor's people index (snapshot + changes since) | {f['cold_start_s']:.1f} s | ≤ 60 s |
| `worker_mb`: its resident memory grown by the people index ({f['rows']:,} rows; arrays {f['index_mb']:.0f} MB) \
| {f['worker_mb']:.0f} MB | ≤ 700 MB |
| `match_ms`: 9 faces against every person | {f['match_ms']:.1f} ms | ≤ 40 ms |
| `storm_latency_ratio`: photo p50 during one enrollment a second / idle ({s['people']:,} people) \
| {storm} | ≤ 1.2 |
| `rematch_s`: an enrollment that names 100 photos among the unknown faces \
| {f['rematch_s']:.2f} s (named {named}) | ≤ 2 s |

The unknown-face index: {f['unknown_rows']:,} rows, {f['unknown_mb']:.0f} MB of arrays, loaded cold in
{f['unknown_load_s']:.1f} s. Peak resident memory of the cold processor with both indexes: {f['peak_mb']:.0f} MB.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--unknown", type=int, help="unknown faces (default: as many as people)")
    parser.add_argument("--storm-people", type=int, default=100_000)
    parser.add_argument("--storm-photos", type=int, default=8, help="photos a phase (idle, storm, idle, storm, idle)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", default="BENCHMARKS.md", help="the report; - prints the section")
    parser.add_argument("--command", default="make bench-people")
    parser.add_argument("--cold", help=argparse.SUPPRESS)  # internal: the cold processor's process
    args = parser.parse_args()
    if args.cold is not None:  # the cold processor's figures, one JSON line on stdout for the parent
        sys.stdout.write(json.dumps(cold(json.loads(args.cold), args.runs)) + "\n")
        return
    logs.configure("bench")
    started = time.monotonic()
    n, m = args.people, args.unknown if args.unknown is not None else args.people
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"photolane-bench-people-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    standin, url = _start_standin(folder)
    try:
        stormed = storm(folder, url, min(n, args.storm_people), args.storm_photos)
        log.info("bench.storm_done", extra={k: stormed[k] for k in ("idle_p50_s", "storm_p50_s", "enrolled")})
        env = _environment(url, "scale")
        settings = _use(env)
        rng = np.random.default_rng(11)
        log.info("bench.scale_people", extra={"people": n})
        _enroll_people(settings, n, rng)
        log.info("bench.scale_unknown_faces", extra={"faces": m})
        planted = _file_unknown_faces(settings, m, rng)
        log.info("bench.cold_processor")
        figures = _cold_in_a_process(folder, env, planted, args.runs)
    finally:
        standin.terminate()
        try:
            standin.wait(30)
        except subprocess.TimeoutExpired:  # a stand-in holding gigabytes can be slow to go
            standin.kill()
            standin.wait()
    section = _section(n, m, figures, stormed, args.command, time.monotonic() - started)
    if args.out == "-":
        sys.stdout.write(section)
    else:
        splice(Path(args.out), "people", section)
    lines = {"apply_change_ms": figures["apply_enroll_ms"], "cold_start_s": figures["cold_start_s"],
             "worker_mb": figures["worker_mb"], "match_ms": figures["match_ms"],
             "storm_latency_ratio": stormed["storm_latency_ratio"], "rematch_s": figures["rematch_s"]}
    for name, value in lines.items():
        sys.stdout.write(f"people {name} {value:.3f}\n")  # the figures, one line each, for scripts


if __name__ == "__main__":
    main()
