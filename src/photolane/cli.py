"""``photolane``: upload photos and folders, follow them, manage people, export, numbers over queues.

It talks to the upload service's JSON API (``--url``, ``PHOTOLANE_URL``); only ``stats`` talks to
SQS directly (``AWS_ENDPOINT_URL`` and the ``PHOTOLANE_*`` queue names, as the services do).
Exit status: 0 when everything asked for was done, 1 when something was refused, failed or could
not be reached, 2 for a wrong command line.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import click

from photolane_common.settings import CommonSettings

from . import roster
from . import stats as over_queues
from .client import Api, ApiError, Unreachable, photo_files

DEFAULT_URL = "http://127.0.0.1:5000"


class Failed(click.ClickException):
    """Something was refused or failed; the message says what (exit 1)."""


def _api(ctx: click.Context) -> Api:
    return ctx.find_object(Api)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--url", envvar="PHOTOLANE_URL", default=DEFAULT_URL, show_default=True,
              help="The upload service (env PHOTOLANE_URL).")
@click.option("--token", envvar="PHOTOLANE_ADMIN_TOKEN", default=None,
              help="The admin token, for people, export and queues (env PHOTOLANE_ADMIN_TOKEN).")
@click.pass_context
def main(ctx: click.Context, url: str, token: str | None) -> None:
    """photolane from the command line."""
    ctx.obj = Api(url, token)


# -- upload ----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    path: Path
    id: str | None = None
    status: str = "refused"
    error: str | None = None
    photo: dict[str, Any] | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("queued", "processing", "processed") and self.error is None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--email", help="Where to send the result by email.")
@click.option("--phone", help="Where to send the result by SMS (E.164, e.g. +14155552671).")
@click.option("--wait", is_flag=True, help="Wait until each photo is processed.")
@click.option("--download", "download_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Save the flipped image, thumbnail and results CSV here (implies --wait).")
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Photos in flight at once.")
@click.option("--timeout", type=click.FloatRange(1), default=600, show_default=True,
              help="Seconds to wait for each photo.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a photo instead of text.")
@click.option("--collection", help="Match them in this collection (needs the admin token).")
@click.option("--link", help="An upload link's code (or its /u/<code> address): into its collection.")
@click.pass_context
def upload(ctx: click.Context, paths: tuple[Path, ...], email: str | None, phone: str | None, wait: bool,
           download_dir: Path | None, concurrency: int, timeout: float, as_json: bool, collection: str | None,
           link: str | None) -> None:
    """Upload photos, and every image in the folders given (recursively)."""
    files = list(photo_files(list(paths)))
    if not files:
        raise click.UsageError("no images found (jpg, jpeg, png, webp, heic) in the folders given")
    if download_dir:
        download_dir.mkdir(parents=True, exist_ok=True)
    into = {"collection": collection} if collection else {}
    into |= {"link": link.rstrip("/").rsplit("/", 1)[-1]} if link else {}
    job = UploadJob(_api(ctx), email, phone, wait or download_dir is not None, download_dir, timeout,
                    _clashing_stems(files), into)
    try:
        outcomes = _run_all(files, job, concurrency, "Processing" if job.wait else "Uploading")
    except KeyboardInterrupt:
        raise Failed("interrupted; photos already sent go on being processed (photolane status ID)") from None
    for outcome in outcomes:
        click.echo(json.dumps(_outcome_json(outcome)) if as_json else _outcome_line(outcome))
    counts = Counter(o.status for o in outcomes)
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())), err=True)
    if any(o.status == "unreachable" for o in outcomes):
        raise Failed(next(o.error for o in outcomes if o.status == "unreachable") or "unreachable")
    if not all(o.ok for o in outcomes):
        sys.exit(1)


@dataclass
class UploadJob:
    api: Api
    email: str | None
    phone: str | None
    wait: bool
    download_dir: Path | None
    timeout: float
    clashing: set[str]
    into: dict[str, str] = field(default_factory=dict)  # "collection" and/or "link", as the API takes them
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, path: Path) -> Outcome:
        outcome = Outcome(path)
        if self.stop.is_set():
            outcome.status, outcome.error = "skipped", "not sent: stopped early (service unreachable or Ctrl-C)"
            return outcome
        try:
            answer = self.api.upload(path, self.email, self.phone, self.into)
            outcome.id, outcome.status = answer["id"], answer["status"]
            if self.wait:
                outcome.photo = self.api.wait(outcome.id, self.timeout, stop=self.stop)
                outcome.status, outcome.error = outcome.photo["status"], outcome.photo.get("error")
            if self.download_dir and outcome.status == "processed":
                outcome.files = self._download(outcome)
        except Unreachable as exc:
            self.stop.set()
            outcome.status, outcome.error = "unreachable", str(exc)
        except ApiError as exc:
            outcome.status = "refused" if outcome.id is None else "error"
            outcome.error = str(exc)
        except TimeoutError as exc:
            outcome.photo = exc.args[0]
            outcome.status = "waiting"
            outcome.error = "stopped waiting" if self.stop.is_set() else f"not processed after {self.timeout:g} s"
        except OSError as exc:
            outcome.status, outcome.error = "error", f"{path}: {exc.strerror or exc}"
        return outcome

    def _download(self, outcome: Outcome) -> list[Path]:
        assert outcome.photo is not None and outcome.id is not None and self.download_dir is not None
        stem = outcome.path.stem + (f"-{outcome.id[:8]}" if outcome.path.stem in self.clashing else "")
        wanted = (("flipped_url", "flipped"), ("thumbnail_url", "thumbnail"), ("results_url", "results"))
        saved = []
        for key, label in wanted:
            url = outcome.photo.get(key)
            if url:
                suffix = PurePosixPath(urlsplit(url).path).suffix
                saved.append(self.api.download(url, self.download_dir / f"{stem}.{label}{suffix}"))
        return saved


def _clashing_stems(files: list[Path]) -> set[str]:
    """Stems shared by several files: their downloads get the photo id too, so none overwrites another."""
    return {stem for stem, n in Counter(f.stem for f in files).items() if n > 1}


def _run_all(files: list[Path], job: UploadJob, concurrency: int, label: str) -> list[Outcome]:
    """Every file through ``job`` with a progress bar; on Ctrl-C the ones sent so far are listed."""
    results: dict[Path, Outcome] = {}
    pool = ThreadPoolExecutor(concurrency)
    try:
        with click.progressbar(length=len(files), label=label, file=sys.stderr, show_pos=True) as bar:
            futures = {pool.submit(job.run, f): f for f in files}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    except KeyboardInterrupt:
        job.stop.set()  # waits end at once, files not yet started are skipped
        pool.shutdown(wait=True, cancel_futures=True)
        for outcome in (f.result() for f in futures if f.done() and not f.cancelled()):
            if outcome.id:
                click.echo(_outcome_line(outcome))
        raise
    pool.shutdown()
    return [results[f] for f in files]


def _faces_text(photo: dict[str, Any] | None) -> str:
    if not photo or photo.get("status") != "processed":
        return ""
    faces = photo.get("faces", [])
    names = [f["person"]["name"] for f in faces if f.get("person")]
    asked = [f"maybe {f['suggestion']['name']}?" for f in faces if not f.get("person") and f.get("suggestion")]
    unknown = len(faces) - len(names) - len(asked)
    parts = names + asked + ([f"{unknown} unknown"] if unknown else [])
    return f"{len(faces)} face{'s' if len(faces) != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")


def _outcome_line(outcome: Outcome) -> str:
    detail = outcome.error or _faces_text(outcome.photo)
    saved = f" → {', '.join(str(p) for p in outcome.files)}" if outcome.files else ""
    return "\t".join([str(outcome.path), outcome.id or "-", outcome.status, detail + saved]).rstrip()


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {"path": str(outcome.path), "id": outcome.id, "status": outcome.status, "error": outcome.error,
            "photo": outcome.photo, "files": [str(p) for p in outcome.files]}


# -- status ----------------------------------------------------------------------------------------
@main.command()
@click.argument("photo_id")
@click.option("--wait", is_flag=True, help="Wait until it is processed or failed.")
@click.option("--timeout", type=click.FloatRange(1), default=600, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The API's JSON answer.")
@click.pass_context
def status(ctx: click.Context, photo_id: str, wait: bool, timeout: float, as_json: bool) -> None:
    """A photo's status, faces, people and notifications."""
    api = _api(ctx)
    photo = _or_fail(lambda: api.wait(photo_id, timeout) if wait else api.photo(photo_id))
    if as_json:
        click.echo(json.dumps(photo, indent=2))
        return
    rows = [("id", photo["id"]), ("status", photo["status"]), ("file", photo.get("filename") or "-")]
    if photo.get("error"):
        rows.append(("error", photo["error"]))
    if photo["status"] == "processed":
        rows.append(("faces", _faces_text(photo)))
        rows += [(label, photo.get(key) or "-") for label, key in
                 (("flipped", "flipped_url"), ("thumbnail", "thumbnail_url"), ("results", "results_url"))]
    for sent in photo.get("notifications", []):
        rows.append((sent["channel"], f"{sent['status']} to {sent['to']}" + (f": {sent['error']}" if sent.get("error")
                                                                            else "")))
    _table(rows)


def _or_fail(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiError as exc:
        raise Failed(str(exc)) from exc
    except TimeoutError as exc:
        raise Failed(f"still {exc.args[0].get('status')} after the timeout") from exc


def _table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label:<{width}}  {value}")


# -- people ----------------------------------------------------------------------------------------
@main.group()
def people() -> None:
    """Enrolled people (needs the admin token)."""


def _attribute(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not key=value")
        try:
            value = json.loads(raw)  # numbers and true/false keep their type: terms=2 → 2
        except ValueError:
            value = raw
        attributes[key.strip()] = value if isinstance(value, str | int | float | bool) else raw
    return attributes


COLLECTION_HELP = "The collection to enroll into (made first: POST /api/collections); the default one if left out."


@people.command("add")
@click.argument("name")
@click.argument("photo", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--attr", "attributes", multiple=True, callback=_attribute, metavar="KEY=VALUE",
              help="An attribute of the person (repeat for more).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the face encoding.")
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True)
@click.option("--collection", help=COLLECTION_HELP)
@click.pass_context
def people_add(ctx: click.Context, name: str, photo: Path, attributes: dict[str, Any], wait: bool,
               timeout: float, collection: str | None) -> None:
    """Enroll NAME from PHOTO (one face)."""
    api = _api(ctx)
    person = _or_fail(lambda: api.add_person(name, photo, attributes, collection))
    if wait:
        person = _or_fail(lambda: api.wait_person(person["id"], timeout))
    click.echo(f"{person['id']}\t{name}\t{person['status']}" + (f"\t{person['error']}" if person.get("error") else ""))
    if person["status"] == "failed":
        sys.exit(1)


@people.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--collection", help="Only this collection's people.")
@click.pass_context
def people_list(ctx: click.Context, as_json: bool, collection: str | None) -> None:
    """Everyone enrolled, with their status."""
    everyone = _or_fail(lambda: _api(ctx).people(collection))
    if as_json:
        click.echo(json.dumps(everyone, indent=2))
        return
    for person in sorted(everyone, key=lambda p: p["name"].lower()):
        extra = json.dumps(person["attributes"]) if person.get("attributes") else ""
        click.echo("\t".join([person["id"], person["name"], person["status"], f"{len(person['photos'])} photo(s)",
                              person.get("error") or extra]).rstrip())


@people.command("import")
@click.argument("roster_file", metavar="ROSTER.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("photos_dir", metavar="PHOTOS_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="People in flight at once.")
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True,
              help="Seconds to wait for each person's encodings.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the failures to this CSV file.")
@click.option("--collection", help=COLLECTION_HELP)
@click.pass_context
def people_import(ctx: click.Context, roster_file: Path, photos_dir: Path, concurrency: int, timeout: float,
                  report_file: Path | None, collection: str | None) -> None:
    """Enroll everyone of ROSTER.csv, their photos in PHOTOS_DIR; people already enrolled are skipped.

    ROSTER.csv: a header row, then one row a person. Columns: name, photos (file names relative to
    PHOTOS_DIR, several separated by ';' or '|'), optionally id (kept as the attribute roster_id);
    every other column is an attribute. Run it again after a Ctrl-C or a crash: only the rest is done.
    """
    try:
        parsed = roster.read_roster(roster_file)
    except roster.RosterError as exc:
        raise Failed(str(exc)) from exc
    if not parsed.rows:
        raise Failed(f"{roster_file}: no people in it, only the header")
    api = _api(ctx)
    try:
        known = roster.known_people(_or_fail(lambda: api.people(collection)))
    except KeyboardInterrupt:
        raise Failed("interrupted before anyone was sent; nothing to resume") from None
    job = ImportJob(api, photos_dir, known, timeout, collection)
    results: dict[int, Imported] = {}
    pool = ThreadPoolExecutor(concurrency)
    try:
        with click.progressbar(length=len(parsed.rows), label="Enrolling", file=sys.stderr, show_pos=True) as bar:
            futures = {pool.submit(job.run, row): row for row in parsed.rows}
            for future in as_completed(futures):
                results[futures[future].number] = future.result()
                bar.update(1)
    except KeyboardInterrupt:
        job.stop.set()  # rows not started are not sent; waits end at once
        pool.shutdown(wait=True, cancel_futures=True)
        done = [f.result() for f in futures if f.done() and not f.cancelled()]
        sent = sum(1 for r in done if r.id and r.status != "skipped")
        raise Failed(f"interrupted after sending {sent} people; run the same command again to enroll the rest "
                     "(those already enrolled are skipped)") from None
    pool.shutdown()
    outcomes = [results[row.number] for row in parsed.rows]
    failures = [(o, photo, kind, reason) for o in outcomes for photo, kind, reason in o.failures]
    for o, photo, kind, reason in failures:
        click.echo("\t".join([f"row {o.row.number}", o.row.name or "-", photo or "-", kind, reason, _left(o)]))
    if report_file is not None:
        _write_import_report(report_file, failures)
    counts = Counter(o.status for o in outcomes)
    summary = [f"{counts['enrolled']} enrolled", f"{counts['skipped']} already enrolled (skipped)",
               f"{counts['failed']} failed"]
    summary += [f"{counts[s]} {s}" for s in ("waiting", "unreachable", "not sent") if counts[s]]
    click.echo(", ".join(summary) + (f"; {len(failures)} problem(s) listed above" if failures else ""), err=True)
    if counts["unreachable"]:
        raise Failed(next(r for o in outcomes for _, k, r in o.failures if k == "unreachable"))
    if failures:
        sys.exit(1)


@dataclass
class Imported:
    row: roster.Row
    status: str = "failed"  # enrolled | skipped | failed | waiting | unreachable | not sent
    id: str | None = None
    failures: list[tuple[str | None, str, str]] = field(default_factory=list)  # (photo, problem, reason)

    def fail(self, photo: str | None, kind: str, reason: str, status: str = "failed") -> Imported:
        self.failures.append((photo, kind, reason))
        self.status = status
        return self


@dataclass
class ImportJob:
    api: Api
    photos_dir: Path
    known: dict[tuple[str, str], dict[str, Any]]
    timeout: float
    collection: str | None = None  # the one they are enrolled in (None: the default one)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, row: roster.Row) -> Imported:
        outcome = Imported(row)
        if self.stop.is_set():
            return outcome.fail(None, "not sent", "stopped early (service unreachable or Ctrl-C)", "not sent")
        if row.problem:
            return outcome.fail(None, "bad row", row.problem)
        earlier = self.known.get(row.key)
        try:
            if earlier is not None and earlier["status"] in ("enrolled", "enrolling"):
                outcome.status, outcome.id = "skipped", earlier["id"]
                return outcome
            paths = [self.photos_dir / name for name in row.photos]
            missing = [name for name, path in zip(row.photos, paths, strict=True) if not path.is_file()]
            if missing:
                for name in missing:
                    outcome.fail(name, "missing file", f"no file {name} in {self.photos_dir}")
                return outcome
            if earlier is not None:  # failed before (no face …): replaced, so failures do not pile up
                self.api.delete_person(earlier["id"])
            answer = self.api.add_person(row.name, paths, row.attributes, self.collection)
            outcome.id = answer["id"]
            person = self.api.wait_person(outcome.id, self.timeout, stop=self.stop)
        except Unreachable as exc:
            self.stop.set()
            return outcome.fail(None, "unreachable", str(exc), "unreachable")
        except ApiError as exc:
            photo, reason = _which_photo(str(exc), row.photos)
            return outcome.fail(photo, roster.problem_kind(reason), reason)
        except TimeoutError:
            reason = "stopped waiting (Ctrl-C)" if self.stop.is_set() else \
                f"still enrolling after {self.timeout:g} s (the next run skips it once enrolled)"
            return outcome.fail(None, "timed out", reason, "waiting")
        except OSError as exc:
            return outcome.fail(None, "unreadable file", str(exc.strerror or exc))
        for name, photo in zip(row.photos, person.get("photos", []), strict=False):
            if photo["status"] == "failed":
                outcome.fail(name, roster.problem_kind(photo.get("error") or ""), photo.get("error") or "failed")
        outcome.status = "enrolled" if person["status"] == "enrolled" else "failed"
        if outcome.status == "failed" and not outcome.failures:
            outcome.fail(None, "refused", person.get("error") or "not enrolled")
        if outcome.status == "failed":
            self._discard(outcome)
        return outcome

    def _discard(self, outcome: Imported) -> None:
        """A person with no sample enrolled is no person: deleted, so the row is reported, not left as a
        card (one left by a run that dies here is replaced by the next run, or removed on the People page)."""
        try:
            self.api.delete_person(outcome.id or "")
        except ApiError as exc:  # unreachable too: the person stays, reported as left
            if exc.status != 404:  # 404: gone already
                return
        outcome.id = None


def _which_photo(message: str, photos: list[str]) -> tuple[str | None, str]:
    """The service says "photo 2: …" when one of several is refused: that file, and the reason."""
    found = re.match(r"photo (\d+): (.*)", message, re.S)
    if found and 1 <= int(found.group(1)) <= len(photos):
        return photos[int(found.group(1)) - 1], found.group(2)
    return (photos[0] if len(photos) == 1 else None), message


def _left(outcome: Imported) -> str:
    """What a row with a problem left on the service."""
    if outcome.status == "enrolled":
        return "enrolled from the other photos"
    if outcome.id is None:
        return "nobody enrolled"
    if outcome.status == "waiting":
        return "still enrolling"
    return "a failed person left: the next run replaces it, or remove it on the People page"


def _write_import_report(path: Path, failures: list[tuple[Imported, str | None, str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "name", "roster_id", "photo", "problem", "error", "person"])
        for o, photo, kind, reason in failures:
            writer.writerow([o.row.number, o.row.name, o.row.roster_id or "", photo or "", kind, reason, _left(o)])


# -- export ----------------------------------------------------------------------------------------
@main.command()
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="A file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, as_csv: bool, output: Path | None) -> None:
    """Every photo and person record (needs the admin token)."""
    api, fmt = _api(ctx), "csv" if as_csv else "json"
    if output is None:
        _or_fail(lambda: api.export(fmt, sys.stdout.buffer))
        return
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("wb") as out:
            written = _or_fail(lambda: api.export(fmt, out))
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"wrote {written} bytes to {output}", err=True)


# -- backup and restore ----------------------------------------------------------------------------
class _StageProgress:
    """One line a stage on stderr, redrawn in place on a terminal (a line every 10 % otherwise)."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.tty = sys.stderr.isatty()
        self.shown = -1.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.stage:
            self.end()
            self.stage, self.shown = stage, -1.0
        fraction = done / total if total else None
        if not self.tty and fraction is not None and fraction < 1 and fraction - self.shown < 0.1:
            return
        self.shown = fraction if fraction is not None else self.shown
        text = f"{stage}: {done}" + (f"/{total}" if total is not None else "")
        click.echo(("\r" + text) if self.tty else text, err=True, nl=not self.tty)

    def end(self) -> None:
        if self.tty and self.stage is not None:
            click.echo("", err=True)
        self.stage = None


def _deployment(settings: CommonSettings) -> str:
    names = f"bucket {settings.bucket}, tables {settings.photos_table}, {settings.people_table}, " \
            f"{settings.settings_table}, {settings.faces_table}, {settings.collections_table}"
    where = settings.aws_endpoint_url or f"AWS {settings.region}"
    return f"{where} ({names})"


@main.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup_command(folder: Path) -> None:
    """Copy every record (the four tables) and object (the bucket) into FOLDER (new or empty).

    The deployment is the one the services use: AWS_ENDPOINT_URL for the local stand-in, else AWS
    (region and credentials from the environment); PHOTOLANE_BUCKET and PHOTOLANE_*_TABLE name it.
    """
    from photolane_common import backup as store

    settings = CommonSettings()
    click.echo(f"backing up {_deployment(settings)} into {folder}", err=True)
    progress = _StageProgress()
    try:
        manifest = store.backup(settings, folder, progress)
    except store.BackupError as exc:
        raise Failed(str(exc)) from exc
    finally:
        progress.end()
    counts = manifest["counts"]
    items = ", ".join(f"{n} {role}" for role, n in counts["tables"].items())
    click.echo(f"backed up {items}, {counts['objects']} objects ({counts['bytes']} bytes) into {folder}")


@main.command("restore")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--prune", is_flag=True,
              help="Also delete the records and objects the backup does not have (the deployment becomes the backup).")
def restore_command(folder: Path, prune: bool) -> None:
    """Copy every record and object of the backup in FOLDER back into the deployment.

    Records and objects of the same key are overwritten, others are left (unless --prune); running it
    twice gives the same state. The bucket and tables must exist (make run, docker compose up or
    make deploy create them).
    """
    from photolane_common import backup as store

    settings = CommonSettings()
    click.echo(f"restoring {folder} into {_deployment(settings)}", err=True)
    progress = _StageProgress()
    try:
        done = store.restore(settings, folder, progress, prune=prune)
    except store.BackupError as exc:
        raise Failed(str(exc)) from exc
    finally:
        progress.end()
    items = ", ".join(f"{n} {role}" for role, n in done.items.items())
    pruned = f"; deleted {done.deleted_items} records and {done.deleted_objects} objects not in it" if prune else ""
    click.echo(f"restored {items}, {done.objects_written} objects written, {done.objects_unchanged} already there"
               + pruned)


# -- the local inbox -------------------------------------------------------------------------------
@main.command("inbox")
@click.option("-n", "--limit", type=click.IntRange(1, 100), default=20, show_default=True,
              help="The newest N messages.")
@click.option("--signin", "signin_only", is_flag=True, help="Only the emails that carry a sign-in link.")
@click.option("--json", "as_json", is_flag=True, help="The messages as JSON (one object).")
@click.pass_context
def inbox_command(ctx: click.Context, limit: int, signin_only: bool, as_json: bool) -> None:
    """The SMS and emails photolane sent, newest first, sign-in links included: local mode only.

    Under make run they go to the AWS stand-in, not to anyone; the upload service's /dev/inbox reads
    them from it, and this prints the same. It exists only in local mode (make run sets
    PHOTOLANE_DEV_INBOX), never on AWS.
    """
    api = _api(ctx)
    try:
        answer = api.inbox()
    except ApiError as exc:
        if exc.status == 404:
            raise Failed(f"{api.url} has no inbox: it exists only in local mode (make run, which sets "
                         "PHOTOLANE_DEV_INBOX=true), never on AWS") from exc
        raise Failed(str(exc)) from exc
    messages = [m for m in answer["messages"] if m["signin"] or not signin_only][:limit]
    if as_json:
        click.echo(json.dumps({"messages": messages, "total": answer["total"]}, indent=2, ensure_ascii=False))
        return
    if not messages:
        click.echo("no sign-in link sent yet" if signin_only else "nothing sent yet", err=True)
        return
    click.echo("\n\n".join(_inbox_text(m) for m in messages))


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # a terminal's escapes: never printed as they are


def _local_time(stamp: str | None) -> str | None:
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if stamp else None


def _inbox_text(message: dict[str, Any]) -> str:
    """A message as the terminal shows it: when, channel and recipient, subject, then its text indented."""
    head = f"{_local_time(message['sent_at']) or 'time not recorded'}  {message['channel']} to " \
           f"{', '.join(message['to']) or 'nobody'}"
    if message["signin"]:
        expires = message.get("expires_at")
        if expires and datetime.fromisoformat(expires) <= datetime.now(UTC):
            head += f"  (sign-in link, expired {_local_time(expires)})"
        else:
            head += f"  (sign-in link, works once{f', until {_local_time(expires)}' if expires else ''})"
    lines = [head]
    if message.get("subject"):
        lines.append(f"  Subject: {message['subject']}")
    lines += [f"  {line}" if line else "" for line in message["text"].splitlines()]
    return CONTROL.sub("?", "\n".join(lines))


# -- numbers over queues ---------------------------------------------------------------------------
NEGATIVE = re.compile(r"-(\d|\.\d)")  # "-5", "-0.5", "-.5", "-1e3": a number, not an option


# Unknown options reach NUMBERS so that negative numbers do; anything else that looks like an option
# is refused below, as click would.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("numbers", nargs=-1)
@click.option("--random", "how_many", type=click.IntRange(1, 10_000), help="Send N random numbers instead.")
@click.option("--sample", is_flag=True, help="Send the built-in sample (uploads per hour of a day).")
@click.option("--timeout", type=click.FloatRange(1), default=30, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True)
def stats(numbers: tuple[str, ...], how_many: int | None, sample: bool, timeout: float, as_json: bool) -> None:
    """Min, max, mean and median of NUMBERS, computed by the processor over the queues (negative
    numbers as they are: photolane stats -5 3)."""
    for word in numbers:
        if word.startswith("-") and not NEGATIVE.match(word):
            raise click.NoSuchOption(word.partition("=")[0])
    if sum((bool(numbers), how_many is not None, sample)) != 1:
        raise click.UsageError("give numbers, or --random N, or --sample (one of them)")
    values: list[Any] = list(numbers)  # as typed: the processor checks them and says what is wrong
    if how_many is not None:
        values = [round(random.uniform(0, 1000), 3) for _ in range(how_many)]
    elif sample:
        values = list(over_queues.SAMPLE)
    try:
        answer = over_queues.ask_stats(CommonSettings(), values, timeout)
    except over_queues.StatsError as exc:
        raise Failed(str(exc)) from exc
    if as_json:
        click.echo(over_queues.answer_json(answer))
    if answer.error:
        raise Failed(f"the processor refused the numbers: {answer.error}")
    if not as_json:
        _table([("count", answer.count)] + [(k, _number(getattr(answer, k))) for k in ("min", "max", "mean", "median")])


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"


@main.group("queues")
def queues_group() -> None:
    """The queues: depths, dead letters, redrive, purge (needs the admin token)."""


@queues_group.command("list")
@click.pass_context
def queues_list(ctx: click.Context) -> None:
    """Each queue's messages waiting and in flight, and its dead letters."""
    found = _or_fail(_api(ctx).queues)
    _table([("queue", "waiting  in flight  dead letters")]
           + [(q["name"], f"{q['messages']:>7}  {q['in_flight']:>9}  {q['dead_letters']:>12}") for q in found])


@queues_group.command("redrive")
@click.argument("name", type=click.Choice(["jobs", "notifications"]))
@click.pass_context
def queues_redrive(ctx: click.Context, name: str) -> None:
    """Move the dead letters of queue NAME back to it, to be tried again."""
    moved = _or_fail(lambda: _api(ctx).redrive(name))
    click.echo(f"{moved} dead letter{'' if moved == 1 else 's'} moved back to {name}")


@queues_group.command("purge")
@click.argument("name", type=click.Choice(["jobs", "notifications", "jobs-dlq", "notifications-dlq"]))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def queues_purge(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete every message of queue NAME (asks first)."""
    api = _api(ctx)
    if not yes:
        depth = next(q for q in _or_fail(api.queues) if q["name"] == name.removesuffix("-dlq"))
        what = (f"{depth['dead_letters']} dead letters" if name.endswith("-dlq")
                else f"{depth['messages']} waiting and {depth['in_flight']} in flight")
        click.confirm(f"Purge {name}: {what}? This cannot be undone", abort=True)
    _or_fail(lambda: api.purge(name))
    click.echo(f"purged {name}")


if __name__ == "__main__":
    main()
