"""The ``photolane`` command, run as a user runs it, against photolane started as `make run` starts it."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from PIL import Image, ImageOps

from photolane.standin import STANDIN_ENV, free_port
from photolane.testing import pixel_difference, wait_for

from .conftest import Running, started

pytestmark = pytest.mark.e2e
BATCH_WINDOW = 3  # seconds: a folder's photos for one email come in one message


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The module's stack (as conftest's), its notifier batching a recipient's photos of a few seconds."""
    with started(tmp_path_factory, PHOTOLANE_BATCH_WINDOW_SECONDS=str(BATCH_WINDOW)) as stack:
        yield stack

PHOTOLANE = Path(sys.executable).with_name("photolane")  # the installed console script


def cli(running: Running, *args: str, stdin: str | None = None, admin: bool = False,
        **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    clean.update({"PHOTOLANE_URL": running.url, "AWS_ENDPOINT_URL": running.aws_url, **env})
    if admin:
        clean["PHOTOLANE_ADMIN_TOKEN"] = running.admin_token
    return subprocess.run([str(PHOTOLANE), *args], env=clean, input=stdin, capture_output=True, text=True,
                          timeout=300)


def test_a_folder_is_uploaded_waited_for_and_downloaded(running: Running, faces_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "holiday"
    (folder / "day 2").mkdir(parents=True)
    (folder / ".thumbnails").mkdir()
    shutil.copy(faces_dir / "obama_2.jpg", folder / "obama.jpg")
    shutil.copy(faces_dir / "group_kit_and_rose.jpg", folder / "day 2" / "group.jpg")
    shutil.copy(faces_dir / "biden_2.jpg", folder / "day 2" / "obama.jpg")  # same name, other folder
    (folder / "notes.txt").write_text("not a photo")
    shutil.copy(faces_dir / "obama_3.jpg", folder / ".thumbnails" / "hidden.jpg")
    out = tmp_path / "out"

    done = cli(running, "upload", str(folder), "--email", "cli@example.com", "--download", str(out), "--json",
               "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert "Processing" in done.stderr and "3 processed" in done.stderr
    results = {Path(r["path"]).relative_to(folder).as_posix(): r for r in map(json.loads, done.stdout.splitlines())}
    assert set(results) == {"obama.jpg", "day 2/group.jpg", "day 2/obama.jpg"}
    assert all(r["status"] == "processed" and len(r["files"]) == 3 for r in results.values())

    group = results["day 2/group.jpg"]
    assert [Path(f).name for f in group["files"]] == ["group.flipped.jpg", "group.thumbnail.jpg", "group.results.csv"]
    flipped = Image.open(out / "group.flipped.jpg")
    assert pixel_difference(flipped, ImageOps.mirror(Image.open(faces_dir / "group_kit_and_rose.jpg"))) < 3
    assert max(Image.open(out / "group.thumbnail.jpg").size) == 256
    rows = list(csv.DictReader(io.StringIO((out / "group.results.csv").read_text())))
    assert len(rows) == len(group["photo"]["faces"]) == 2
    clashing = sorted(Path(f).name for r in (results["obama.jpg"], results["day 2/obama.jpg"]) for f in r["files"])
    assert len(set(clashing)) == 6 and all(name.startswith("obama-") for name in clashing)  # none overwritten
    assert not list(out.glob("*.part"))

    # One email for the three photos (uploaded within the notifier's batch window), not three.
    def noted() -> list[dict] | None:
        notes = [requests.get(f"{running.url}/api/photos/{r['photo']['id']}", timeout=10).json()["notifications"]
                 for r in results.values()]
        return notes if all(n and n[0]["status"] == "sent" for n in notes) else None

    notes = wait_for(noted, timeout=60, what="the photos' email")
    assert {n[0]["note"] for n in notes} == {"in one message with 2 other photos"}
    (mail,) = [m for m in running.standin.emails() if "cli@example.com" in m["destinations"]["ToAddresses"]]
    assert mail["subject"] == "Your 3 photos are ready" and "3 photos processed: " in mail["body"]
    assert all(f"/photos/{r['photo']['id']}" in mail["body"] for r in results.values())


def test_a_phone_only_folder_gets_one_sms_whose_link_lists_its_photos(running: Running, faces_dir: Path,
                                                                      tmp_path: Path) -> None:
    """An uploader who gave only a phone cannot sign in to the gallery (that takes an email): the one SMS
    for the folder links the batch's own page, which the running upload service serves to anyone."""
    phone = "+14155552671"
    folder = tmp_path / "party"
    folder.mkdir()
    for name in ("obama_2.jpg", "biden_2.jpg", "group_kit_and_rose.jpg"):
        shutil.copy(faces_dir / name, folder / name)
    done = cli(running, "upload", str(folder), "--phone", phone, "--wait", "--json")
    assert done.returncode == 0, done.stderr
    ids = sorted(json.loads(line)["id"] for line in done.stdout.splitlines())

    def texted() -> list[dict] | None:
        sent = [m for m in running.standin.sms() if m["phone_number"] == phone]
        return sent or None

    (sms,) = wait_for(texted, timeout=60, what="the folder's SMS")  # one SMS for the three photos
    link = re.search(r"(\S+/batches/[A-Za-z0-9_-]{16})$", sms["message"])
    assert link and link.group(1).startswith(f"{running.url}/batches/"), sms["message"]
    assert sms["message"].startswith("photolane: 3 photos processed: ") and sms["message"].isascii()
    page = requests.get(link.group(1), timeout=10)  # a client with no session: the link is enough
    assert page.status_code == 200
    assert sorted(re.findall(r'<article id="photo-([0-9a-f-]+)"', page.text)) == ids
    assert all(f'href="/photos/{photo_id}"' in page.text for photo_id in ids)
    assert phone not in page.text and "4155552671" not in page.text
    assert requests.get(f"{running.url}/batches/{'x' * 16}", timeout=10).status_code == 404


def test_people_status_and_export(running: Running, faces_dir: Path, tmp_path: Path) -> None:
    added = cli(running, "people", "add", "Joe Biden", str(faces_dir / "biden_1.jpg"), "--attr", "role=vice president",
                "--attr", "terms=2", admin=True)
    assert added.returncode == 0, added.stderr
    person_id, name, status = added.stdout.split("\t")[:3]
    assert (name, status.strip()) == ("Joe Biden", "enrolled")
    listed = cli(running, "people", "list", admin=True)
    assert f"{person_id}\tJoe Biden\tenrolled\t1 photo(s)\t" in listed.stdout
    assert '"terms": 2' in listed.stdout

    uploaded = cli(running, "upload", str(faces_dir / "biden_2.jpg"), "--wait")
    assert uploaded.returncode == 0, uploaded.stderr
    path, photo_id, status, detail = uploaded.stdout.strip().split("\t")
    assert (status, detail) == ("processed", "1 face: Joe Biden")
    shown = cli(running, "status", photo_id)
    assert shown.returncode == 0 and "status     processed" in shown.stdout and "Joe Biden" in shown.stdout

    exported = cli(running, "export", "--csv", "-o", str(tmp_path / "all.csv"), admin=True)
    assert exported.returncode == 0, exported.stderr
    rows = {row["id"]: row for row in csv.DictReader((tmp_path / "all.csv").open())}
    assert rows[person_id]["record"] == "person" and json.loads(rows[person_id]["attributes"])["terms"] == 2
    assert rows[photo_id]["people"] == "Joe Biden"
    as_json = json.loads(cli(running, "export", admin=True).stdout)
    assert photo_id in {p["id"] for p in as_json["photos"]}


def test_stats_over_the_queues(running: Running) -> None:
    done = cli(running, "stats", "3", "1", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["count", "3", "min", "1", "max", "3", "mean", "2", "median", "2"]

    negative = cli(running, "stats", "-5", "3", "-.5")  # negative numbers are numbers, not options
    assert negative.returncode == 0, negative.stderr
    assert negative.stdout.split() == ["count", "3", "min", "-5", "max", "3", "mean", "-0.8333333333",
                                       "median", "-0.5"]
    unknown = cli(running, "stats", "--nope", "3")
    assert unknown.returncode == 2 and "No such option '--nope'" in unknown.stderr
    huge = cli(running, "stats", "1" * 401, "2")
    assert huge.returncode == 1 and "(401 digits)" in huge.stderr and "beyond the largest number" in huge.stderr

    refused = cli(running, "stats", "3", "x", "2")
    assert refused.returncode == 1
    assert "the processor refused the numbers: not a finite number: 'x'" in refused.stderr

    sample = json.loads(cli(running, "stats", "--sample", "--json").stdout)  # the worker is still there
    assert (sample["count"], sample["min"], sample["max"], sample["median"]) == (24, 0, 72, 34)
    many = json.loads(cli(running, "stats", "--random", "2000", "--json").stdout)
    assert many["count"] == 2000 and 0 <= many["min"] <= many["median"] <= many["max"] <= 1000

    sqs = boto3.client("sqs", endpoint_url=running.aws_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    left = [q for q in sqs.list_queues().get("QueueUrls", []) if "photolane-replies-" in q]
    assert left == []  # every reply queue deleted once answered

    usage = cli(running, "stats")
    assert usage.returncode == 2 and "--random N, or --sample" in usage.stderr


def test_dead_letters_listed_redriven_and_purged_after_asking(running: Running) -> None:
    sqs = boto3.client("sqs", endpoint_url=running.aws_url, region_name="us-east-1", **_keys())
    url = sqs.get_queue_url(QueueName="photolane-notifications-dlq")["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"dead letter {n}")
    assert "admin token" in cli(running, "queues", "list").stderr
    listed = cli(running, "queues", "list", admin=True)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^notifications\s+0\s+0\s+2$", listed.stdout, re.M), listed.stdout

    kept = cli(running, "queues", "purge", "notifications-dlq", stdin="n\n", admin=True)
    assert kept.returncode == 1 and "Aborted" in kept.stderr and "2 dead letters" in kept.stdout
    assert _waiting(sqs, url) == 2
    purged = cli(running, "queues", "purge", "notifications-dlq", stdin="y\n", admin=True)
    assert purged.returncode == 0 and "purged notifications-dlq" in purged.stdout
    assert _waiting(sqs, url) == 0
    assert cli(running, "queues", "purge", "nope", "--yes", admin=True).returncode == 2

    jobs_dlq = sqs.get_queue_url(QueueName="photolane-jobs-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=jobs_dlq, MessageBody=json.dumps(
        {"type": "stats.requested", "data": {"request_id": "r", "numbers": [1], "reply_queue": "photolane-replies-x"}}))
    redriven = cli(running, "queues", "redrive", "jobs", admin=True)
    assert redriven.returncode == 0 and "1 dead letter moved back to jobs" in redriven.stdout
    assert _waiting(sqs, jobs_dlq) == 0


def _waiting(sqs: object, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_refusals_and_a_service_down_say_why(running: Running, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    refused = cli(running, "upload", str(text))
    assert refused.returncode == 1 and "refused\tthe file is not a readable image" in refused.stdout

    down = f"http://127.0.0.1:{free_port()}"
    unreachable = cli(running, "--url", down, "upload", str(text))
    assert unreachable.returncode == 1 and f"cannot reach the upload service at {down}" in unreachable.stderr
    no_aws = cli(running, "stats", "1", AWS_ENDPOINT_URL=down)
    assert no_aws.returncode == 1 and "cannot reach AWS" in no_aws.stderr

    assert "admin token" in cli(running, "people", "list").stderr
    wrong = cli(running, "--token", "wrong", "export")
    assert wrong.returncode == 1 and "the admin token is wrong" in wrong.stderr
    missing = cli(running, "status", "no-such-photo")
    assert missing.returncode == 1 and "no photo no-such-photo" in missing.stderr
    bad_attr = cli(running, "people", "add", "X", str(text), "--attr", "novalue", admin=True)
    assert bad_attr.returncode == 2 and "'novalue' is not key=value" in bad_attr.stderr


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": STANDIN_ENV.get("AWS_ACCESS_KEY_ID", "x"),
            "aws_secret_access_key": STANDIN_ENV.get("AWS_SECRET_ACCESS_KEY", "x")}


def test_ctrl_c_stops_waiting_at_once_and_lists_what_was_sent(running: Running, faces_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOLANE_", "AWS_"))}
    env["PHOTOLANE_URL"] = running.url
    before = _photo_count(running)
    # As from a terminal: a test run started in the background (nohup … &) ignores SIGINT, and a
    # Python started with it ignored never turns it into KeyboardInterrupt.
    started = subprocess.Popen([str(PHOTOLANE), "upload", str(faces_dir), "--wait", "--concurrency", "1"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: _photo_count(running) > before, what="the first photo sent")
    started.send_signal(signal.SIGINT)
    out, err = started.communicate(timeout=15)  # not the minutes of waiting left
    assert started.returncode == 1 and "interrupted" in err
    assert out.count("\t") >= 3  # the photo(s) already sent, with their ids


def _photo_count(running: Running) -> int:
    """The originals in the bucket: one quick listing (an export of every record takes seconds once the
    suite has sent hundreds, and the CLI may finish all its photos in between)."""
    s3 = boto3.client("s3", endpoint_url=running.aws_url, region_name="us-east-1", **_keys())
    return sum(page.get("KeyCount", 0) for page in
               s3.get_paginator("list_objects_v2").paginate(Bucket="photolane", Prefix="originals/"))
