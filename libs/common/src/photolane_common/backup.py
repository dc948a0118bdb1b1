"""Every record and object of a deployment, out to a folder and back in (``photolane backup/restore``).

A deployment is the four tables and the bucket named by the ``PHOTOLANE_*`` settings, on the local
stand-in (``AWS_ENDPOINT_URL``) or on AWS (region and credentials from the environment). Only the
AWS APIs are used, so the same code serves both, and the snapshots ``make run`` keeps (keeper.py).

The folder (format ``photolane-backup``, version 1)::

    manifest.json            format, version, when, where from, counts (written last: no manifest, no backup)
    tables/photos.jsonl      one item a line, DynamoDB JSON as in DynamoDB's export: {"Item": {"id": {"S": …}, …}}
    tables/people.jsonl      (binary values as base64, as DynamoDB JSON has them)
    tables/settings.jsonl
    tables/faces.jsonl       (a backup made before the faces table has none: restored as an empty table)
    tables/collections.jsonl (likewise, before collections)
    objects.jsonl            one object a line: key, file, size, etag, md5, content_type, metadata
    objects/<key>            each object's bytes; a key that cannot be a file path (``..``, a trailing ``/``,
                             a key that is also a "folder" of another) is kept as objects/.keys/<sha256 of key>

Tables are named by their role (photos, people, settings, faces), not their names, so a backup of one
deployment restores into another whose tables are named otherwise.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from . import aws
from .collection import people_pool
from .domain import DEFAULT_COLLECTION
from .settings import CommonSettings

FORMAT = "photolane-backup"
VERSION = 1
ROLES = ("photos", "people", "settings", "faces", "collections")
# Roles added after version 1 was first written: a backup from before has no file for them (restored as empty).
LATER_ROLES = frozenset({"faces", "collections"})
MANIFEST = "manifest.json"
HASHED = ".keys"
# What photolane keeps in its bucket (the stack's grants name the same prefixes): a backup takes these,
# a restore writes only these and a pruning restore deletes only under them.
KEY_PREFIXES = ("originals/", "flipped/", "thumbs/", "results/", "faces/", "people/", "index/", "incoming/")

# (stage, done, total or None): "tables/photos", "objects", ... — for a progress line on stderr.
Progress = Callable[[str, int, int | None], None]


class BackupError(Exception):
    """What went wrong and what to do about it (the CLI prints it as it is)."""


def table_names(settings: CommonSettings) -> dict[str, str]:
    return {"photos": settings.photos_table, "people": settings.people_table, "settings": settings.settings_table,
            "faces": settings.faces_table, "collections": settings.collections_table}


def _where(settings: CommonSettings) -> str:
    if settings.aws_endpoint_url:
        return f"the stand-in at {settings.aws_endpoint_url}"
    return f"AWS ({settings.region})"


@contextlib.contextmanager
def aws_errors(settings: CommonSettings) -> Iterator[None]:
    """AWS failures as BackupErrors that say what to set or start."""
    where = _where(settings)
    try:
        yield
    except EndpointConnectionError as exc:
        hint = ("is it running (make run, docker compose up)?" if settings.aws_endpoint_url
                else "check the network, or set AWS_ENDPOINT_URL for the local stand-in")
        raise BackupError(f"cannot reach {where}: {hint} ({exc})") from exc
    except NoCredentialsError as exc:
        raise BackupError(f"no AWS credentials for {where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                          "AWS_SECRET_ACCESS_KEY (the local stand-in takes any, e.g. testing)") from exc
    except NoRegionError as exc:
        raise BackupError("no AWS region: set AWS_REGION") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch"):
            raise BackupError(f"{where} refused the credentials ({code}: {message}): check AWS_PROFILE or the "
                              "access keys, and that they may read/write the bucket and tables") from exc
        raise BackupError(f"{where} answered {code}: {message}") from exc
    except BotoCoreError as exc:
        raise BackupError(f"AWS call to {where} failed: {exc}") from exc


def check_deployment(settings: CommonSettings) -> None:
    """The bucket and the five tables exist, or a BackupError says which is missing and what to do."""
    where = _where(settings)
    todo = ("create them: make run / docker compose up do it on the stand-in (or `python -m "
            "photolane_common.resources`)" if settings.aws_endpoint_url
            else "deploy the stack first (make deploy), or set the PHOTOLANE_* names of the deployment")
    with aws_errors(settings):
        s3 = aws.client("s3", settings)
        try:
            s3.head_bucket(Bucket=settings.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
                raise BackupError(f"no bucket {settings.bucket!r} on {where}: {todo} "
                                  "(PHOTOLANE_BUCKET names it)") from exc
            raise
        dynamodb = aws.client("dynamodb", settings)
        for role, name in table_names(settings).items():
            try:
                dynamodb.describe_table(TableName=name)
            except dynamodb.exceptions.ResourceNotFoundException as exc:
                raise BackupError(f"no table {name!r} ({role}) on {where}: {todo} "
                                  f"(PHOTOLANE_{role.upper()}_TABLE names it)") from exc


# -- DynamoDB JSON on disk: binary values as base64 -------------------------------------------------
def _to_json(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {k: _to_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_to_json(v) for v in inner]}
    return value


def _from_json(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: _from_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_from_json(v) for v in inner]}
    return value


def item_line(item: dict[str, Any]) -> str:
    return json.dumps({"Item": {k: _to_json(v) for k, v in item.items()}}, sort_keys=True, separators=(",", ":"))


def parse_item(line: str) -> dict[str, Any]:
    return {k: _from_json(v) for k, v in json.loads(line)["Item"].items()}


# -- what a deployment holds ------------------------------------------------------------------------
@dataclass
class Contents:
    """The items of each table (as ``item_line`` text) and the bucket's listing, read through the APIs."""

    tables: dict[str, list[str]]
    objects: list[dict[str, Any]]  # key, size, etag

    @property
    def empty(self) -> bool:
        return not self.objects and not any(self.tables.values())

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for role in ROLES:
            for line in sorted(self.tables.get(role, [])):
                digest.update(f"{role}\n{line}\n".encode())
        for obj in self.objects:
            digest.update(f"object\n{obj['key']}\n{obj['etag']}\n{obj['size']}\n".encode())
        return digest.hexdigest()


def read_contents(settings: CommonSettings, progress: Progress | None = None) -> Contents:
    """Tables first, then the bucket: a record always names objects written before it, so they are listed."""
    with aws_errors(settings):
        dynamodb = aws.client("dynamodb", settings)
        tables: dict[str, list[str]] = {}
        for role, name in table_names(settings).items():
            lines: list[str] = []
            for page in dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
                lines += [item_line(item) for item in page.get("Items", [])]
                if progress:
                    progress(f"tables/{role}", len(lines), None)
            tables[role] = lines
        s3 = aws.client("s3", settings)
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
            objects += [{"key": o["Key"], "size": o["Size"], "etag": o["ETag"].strip('"')}
                        for o in page.get("Contents", []) if o["Key"].startswith(KEY_PREFIXES)]
    return Contents(tables, sorted(objects, key=lambda o: o["key"]))


def _safe_paths(keys: list[str]) -> dict[str, str]:
    """Each key's file under objects/: the key itself when it can be one, else .keys/<sha256>."""
    ordered = sorted(keys)
    present = set(ordered)
    paths = {}
    for key in ordered:
        parts = key.split("/")
        usable = (
            all(p not in ("", ".", "..") for p in parts) and parts[0] != HASHED and "\0" not in key
            and all(len(p.encode()) <= 200 for p in parts)
            and not any("/".join(parts[:i]) in present for i in range(1, len(parts)))  # a "folder" is a key too
        )
        if usable:  # and no key lies under it ("a" and "a/b")
            at = bisect.bisect_left(ordered, key + "/")
            usable = not (at < len(ordered) and ordered[at].startswith(key + "/"))
        paths[key] = key if usable else f"{HASHED}/{hashlib.sha256(key.encode()).hexdigest()}"
    return paths


def _read_objects_index(folder: Path) -> dict[str, dict[str, Any]]:
    index = folder / "objects.jsonl"
    if not index.exists():
        return {}
    return {entry["key"]: entry for entry in map(json.loads, index.read_text().splitlines()) if entry}


def _checked_objects_index(folder: Path) -> list[dict[str, Any]]:
    """The backup's objects, each line checked before anything is written: a key photolane writes, and a
    file inside the backup's objects/ folder (a backup is read from disk: it may have been edited)."""
    index, objects = folder / "objects.jsonl", (folder / "objects").resolve()
    lines = index.read_text().splitlines() if index.exists() else []
    entries: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{index}, line {number}"
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise BackupError(f"{where} is not JSON ({exc}); the backup is damaged: restore another") from exc
        if not isinstance(entry, dict):
            raise BackupError(f"{where} is not an object's entry; the backup is damaged: restore another")
        key, file = entry.get("key"), entry.get("file")
        if not isinstance(key, str) or not key.startswith(KEY_PREFIXES) or "\0" in key:
            raise BackupError(f"{where}: the key {key!r} is not one photolane writes "
                              f"(under {', '.join(KEY_PREFIXES)}); nothing was restored")
        if (not isinstance(file, str) or not file or "\0" in file or Path(file).is_absolute()
                or not (objects / file).resolve().is_relative_to(objects)):
            raise BackupError(f"{where}: the file {file!r} is outside the backup's objects/ folder; "
                              "nothing was restored")
        if not isinstance(entry.get("size"), int) or not isinstance(entry.get("etag"), str):
            raise BackupError(f"{where}: the object {key!r} has no size or etag; the backup is damaged")
        entries[key] = entry
    return list(entries.values())


def write_backup(settings: CommonSettings, contents: Contents, dest: Path, previous: Path | None = None,
                 progress: Progress | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``contents`` into the empty folder ``dest``; objects unchanged since ``previous`` are hard-linked from it."""
    (dest / "tables").mkdir(parents=True, exist_ok=True)
    (dest / "objects").mkdir(exist_ok=True)
    for role in ROLES:
        with open(dest / "tables" / f"{role}.jsonl", "w") as out:
            out.writelines(line + "\n" for line in contents.tables.get(role, []))
    before = _read_objects_index(previous) if previous else {}
    paths = _safe_paths([o["key"] for o in contents.objects])
    s3 = aws.client("s3", settings)
    entries, total_bytes = [], 0
    with aws_errors(settings), open(dest / "objects.jsonl", "w") as index:
        for done, obj in enumerate(contents.objects, 1):
            target = dest / "objects" / paths[obj["key"]]
            target.parent.mkdir(parents=True, exist_ok=True)
            old = before.get(obj["key"])
            if (previous and old and (old["etag"], old["size"]) == (obj["etag"], obj["size"])
                    and _link(previous / "objects" / old["file"], target)):
                entry = {**old, "file": paths[obj["key"]]}
            else:
                entry = _download(s3, settings.bucket, obj, target)
                if entry is None:  # deleted since it was listed
                    continue
                entry["file"] = paths[obj["key"]]
            entries.append(entry)
            total_bytes += entry["size"]
            index.write(json.dumps(entry, sort_keys=True) + "\n")
            if progress:
                progress("objects", done, len(contents.objects))
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": {"where": _where(settings), "bucket": settings.bucket, "tables": table_names(settings)},
        "counts": {"tables": {role: len(contents.tables.get(role, [])) for role in ROLES},
                   "objects": len(entries), "bytes": total_bytes},
        "fingerprint": contents.fingerprint(),
        **(extra or {}),
    }
    _write_json_atomically(dest / MANIFEST, manifest)
    return manifest


def _link(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
    except FileNotFoundError:
        return False
    except OSError:
        shutil.copyfile(source, target)
    return True


def _download(s3: Any, bucket: str, obj: dict[str, Any], target: Path) -> dict[str, Any] | None:
    try:
        answer = s3.get_object(Bucket=bucket, Key=obj["key"])
    except s3.exceptions.NoSuchKey:
        return None
    md5, size = hashlib.md5(usedforsecurity=False), 0
    with open(target, "wb") as out:
        for chunk in answer["Body"].iter_chunks(1 << 20):
            md5.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"key": obj["key"], "size": size, "etag": answer["ETag"].strip('"'), "md5": md5.hexdigest(),
            "content_type": answer.get("ContentType"), "metadata": answer.get("Metadata") or {}}


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def backup(settings: CommonSettings, folder: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Every item and object into ``folder`` (new or empty, made owner-only); it appears whole, or not at all."""
    folder = folder.resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} exists and is not an empty folder: back up into a new folder")
    if not folder.parent.is_dir():
        raise BackupError(f"{folder.parent} does not exist: create it first")
    check_deployment(settings)
    contents = read_contents(settings, progress)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        manifest = write_backup(settings, contents, partial, progress=progress)
        os.replace(partial, folder)  # an empty folder is replaced too; owner-only (0700): emails and phones
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


# -- back in ----------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise BackupError(f"no backup at {folder}: the folder does not exist")
    if not folder.is_dir():
        raise BackupError(f"{folder} is a file: give the backup's folder (the one holding {MANIFEST})")
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError(f"{folder} is not a photolane backup (no {MANIFEST}; an interrupted backup leaves none): "
                          "give the folder `photolane backup` wrote")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} is not a photolane backup ({MANIFEST} has no format {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise BackupError(f"{folder} is a backup of format version {manifest.get('version')}; this photolane reads "
                          f"version {VERSION}: restore it with the photolane that wrote it")
    counts = manifest.get("counts")
    listed = counts.get("tables") if isinstance(counts, dict) else None
    for role in ROLES:
        # A role added later is missing from a backup made before it (and from its manifest's counts): empty.
        older = role in LATER_ROLES and not (isinstance(listed, dict) and role in listed)
        if not older and not (folder / "tables" / f"{role}.jsonl").exists():
            raise BackupError(f"{folder} is incomplete: tables/{role}.jsonl is missing")
    if not (folder / "objects.jsonl").exists():
        raise BackupError(f"{folder} is incomplete: objects.jsonl is missing")
    return manifest


@dataclass
class Restored:
    items: dict[str, int] = field(default_factory=dict)
    objects_written: int = 0
    objects_unchanged: int = 0
    deleted_items: int = 0
    deleted_objects: int = 0


def restore(settings: CommonSettings, folder: Path, progress: Progress | None = None,
            prune: bool = False) -> Restored:
    """Every item and object of the backup into the deployment; running it twice changes nothing more.

    Items and objects of the same key are overwritten; others are left, unless ``prune`` deletes them
    (then the deployment holds exactly the backup). The bucket's event notifications are paused while
    objects are written, so restored drop-ins (incoming/) are not processed again.
    """
    folder = folder.resolve()
    read_manifest(folder)
    entries = _checked_objects_index(folder)
    for entry in entries:
        if not (folder / "objects" / entry["file"]).is_file():
            raise BackupError(f"{folder} is incomplete: objects/{entry['file']} (key {entry['key']!r}) is missing")
    check_deployment(settings)
    result = Restored()
    with aws_errors(settings):
        dynamodb = aws.client("dynamodb", settings)
        for role, name in table_names(settings).items():
            path = folder / "tables" / f"{role}.jsonl"
            lines = path.read_text().splitlines() if path.exists() else []  # a later role, an older backup
            items = [parse_item(line) for line in lines if line.strip()]
            items = [_pooled(item) for item in items] if role == "people" else items
            _put_items(dynamodb, name, items, f"tables/{role}", progress)
            result.items[role] = len(items)
            if prune:
                result.deleted_items += _prune_items(dynamodb, name, items)
        s3 = aws.client("s3", settings)
        existing = {o["Key"]: o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket)
                    for o in page.get("Contents", []) if o["Key"].startswith(KEY_PREFIXES)}
        with _notifications_paused(s3, settings.bucket):
            for done, entry in enumerate(entries, 1):
                there = existing.get(entry["key"])
                if there and there["Size"] == entry["size"] and there["ETag"].strip('"') in (entry["etag"],
                                                                                            entry.get("md5")):
                    result.objects_unchanged += 1
                else:
                    _put_object(s3, settings.bucket, entry, folder / "objects" / entry["file"])
                    result.objects_written += 1
                if progress:
                    progress("objects", done, len(entries))
            if prune:
                wanted = {e["key"] for e in entries}
                for key in sorted(set(existing) - wanted):
                    s3.delete_object(Bucket=settings.bucket, Key=key)
                    result.deleted_objects += 1
    return result


def _pooled(person: dict[str, Any]) -> dict[str, Any]:
    """A person of a backup made before every person carried its pool (people.py) gets it: the
    deployment may read its default collection by the index already."""
    if "pool" in person:
        return person
    collection = person.get("collection", {}).get("S") or DEFAULT_COLLECTION
    return {**person, "pool": {"S": people_pool(collection, person["id"]["S"])}}


def _put_items(dynamodb: Any, table: str, items: list[dict[str, Any]], stage: str, progress: Progress | None) -> None:
    for start in range(0, len(items), 25):
        requests = {table: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
        _batch_write(dynamodb, requests)
        if progress:
            progress(stage, min(start + 25, len(items)), len(items))


def _batch_write(dynamodb: Any, requests: dict[str, Any]) -> None:
    for attempt in range(20):
        unprocessed = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        if not unprocessed:
            return
        requests = unprocessed
        time.sleep(min(0.05 * 2 ** attempt, 2))
    raise BackupError("DynamoDB kept refusing writes (throttled): try again later")


def _prune_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> int:
    key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]

    def key_of(item: dict[str, Any]) -> str:
        return json.dumps([_to_json(item[k]) for k in key_names], sort_keys=True)

    wanted = {key_of(item) for item in items}
    gone = [{k: item[k] for k in key_names}
            for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            for item in page.get("Items", []) if key_of(item) not in wanted]
    for start in range(0, len(gone), 25):
        _batch_write(dynamodb, {table: [{"DeleteRequest": {"Key": key}} for key in gone[start:start + 25]]})
    return len(gone)


def _put_object(s3: Any, bucket: str, entry: dict[str, Any], path: Path) -> None:
    extra: dict[str, Any] = {"Metadata": entry.get("metadata") or {}}
    if entry.get("content_type"):
        extra["ContentType"] = entry["content_type"]
    if entry["size"] < 64 << 20:
        with open(path, "rb") as body:
            s3.put_object(Bucket=bucket, Key=entry["key"], Body=body, **extra)
    else:
        s3.upload_file(str(path), bucket, entry["key"], ExtraArgs=extra)


@contextlib.contextmanager
def _notifications_paused(s3: Any, bucket: str) -> Iterator[None]:
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    if not any(config.get(k) for k in ("QueueConfigurations", "TopicConfigurations",
                                       "LambdaFunctionConfigurations", "EventBridgeConfiguration")):
        yield
        return
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        yield
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
