"""``photolane people import``: a class enrolled from a roster through the running stack, and again."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import requests
from PIL import Image

from .conftest import Running
from .test_cli import cli

pytestmark = pytest.mark.e2e

ROSTER = (
    "id,name,photos,class,year,prefect\n"
    "s1,Barack Obama,obama_1.jpg | obama_2.jpg,7B,2009,true\n"
    "s2,Joe Biden,biden_1.jpg,7B,2009,false\n"
    "s3,Kit and Rose,group_kit_and_rose.jpg,7C,2010,false\n"
    "s4,Nobody Here,missing.jpg,7C,2010,false\n"
    "s5,Text File,notes.jpg,7C,2010,false\n"
    "s6,Empty Wall,wall.jpg,7C,2010,false\n"
)


def _people(running: Running) -> list[dict]:
    answer = requests.get(f"{running.url}/api/people", timeout=10,
                          headers={"Authorization": f"Bearer {running.admin_token}"})
    return answer.json()["people"]


def test_a_roster_is_enrolled_its_failures_reported_and_a_second_run_does_only_the_rest(
        running: Running, faces_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("obama_1.jpg", "obama_2.jpg", "biden_1.jpg", "group_kit_and_rose.jpg"):
        shutil.copy(faces_dir / name, photos / name)
    (photos / "notes.jpg").write_text("not a photo")
    Image.new("RGB", (400, 300), (200, 190, 180)).save(photos / "wall.jpg")  # no face in it
    roster = tmp_path / "class.csv"
    roster.write_bytes(ROSTER.encode("utf-8-sig"))  # as Excel saves "CSV UTF-8"
    report = tmp_path / "report.csv"

    first = cli(running, "people", "import", str(roster), str(photos), "--report", str(report), admin=True)
    assert first.returncode == 1, first.stderr
    assert "Enrolling" in first.stderr  # the progress bar
    assert "2 enrolled, 0 already enrolled (skipped), 4 failed" in first.stderr
    lines = sorted(first.stdout.splitlines())
    assert [line.split("\t")[:4] for line in lines] == [
        ["row 4", "Kit and Rose", "group_kit_and_rose.jpg", "several faces"],
        ["row 5", "Nobody Here", "missing.jpg", "missing file"],
        ["row 6", "Text File", "notes.jpg", "unreadable image"],
        ["row 7", "Empty Wall", "wall.jpg", "no face"],
    ]
    assert "2 faces found in the photo" in lines[0] and "not a readable image" in lines[2]
    assert all(line.endswith("\tnobody enrolled") for line in lines)  # each row failed whole: no person kept
    rows = list(csv.DictReader(report.open()))
    assert [(r["row"], r["name"], r["roster_id"], r["problem"], r["person"]) for r in rows] == [
        ("4", "Kit and Rose", "s3", "several faces", "nobody enrolled"),
        ("5", "Nobody Here", "s4", "missing file", "nobody enrolled"),
        ("6", "Text File", "s5", "unreadable image", "nobody enrolled"),
        ("7", "Empty Wall", "s6", "no face", "nobody enrolled")]

    people = {p["name"]: p for p in _people(running)}
    obama = people["Barack Obama"]
    assert obama["status"] == "enrolled" and [p["status"] for p in obama["photos"]] == ["enrolled", "enrolled"]
    assert obama["attributes"] == {"class": "7B", "year": 2009, "prefect": True, "roster_id": "s1"}
    assert people["Joe Biden"]["attributes"]["prefect"] is False
    assert "Nobody Here" not in people and "Text File" not in people  # refused before anything was stored
    assert "Kit and Rose" not in people and "Empty Wall" not in people  # no face enrolled: deleted, reported

    # The second run skips the enrolled; the failed ones are tried again, and again leave nobody.
    again = cli(running, "people", "import", str(roster), str(photos), admin=True)
    assert again.returncode == 1, again.stderr
    assert "0 enrolled, 2 already enrolled (skipped), 4 failed" in again.stderr
    assert len(again.stdout.splitlines()) == 4
    names = [p["name"] for p in _people(running)]
    assert sorted(names) == ["Barack Obama", "Joe Biden"]  # nobody twice, no failed leftovers

    # Fixed: the missing photo is there now, the bad rows are gone: only that person is sent.
    shutil.copy(faces_dir / "alex_lacamoire_1.jpg", photos / "missing.jpg")
    fixed = tmp_path / "fixed.csv"
    header, obama, biden, _group, nobody = ROSTER.splitlines()[:5]
    fixed.write_text("\n".join([header, obama, biden, nobody]) + "\n")
    third = cli(running, "people", "import", str(fixed), str(photos), admin=True)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "1 enrolled, 2 already enrolled (skipped), 0 failed" in third.stderr
    assert third.stdout == ""

    # A later photo of an imported person names them.
    uploaded = cli(running, "upload", str(faces_dir / "obama_3.jpg"), "--wait", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    faces = json.loads(uploaded.stdout)["photo"]["faces"]
    assert [f["person"]["name"] for f in faces] == ["Barack Obama"]
    assert faces[0]["person"]["attributes"]["roster_id"] == "s1"


def test_a_roster_without_a_header_is_refused_before_anything_is_sent(running: Running, tmp_path: Path) -> None:
    roster = tmp_path / "no-header.csv"
    roster.write_text("Barack Obama,obama_1.jpg\n")
    refused = cli(running, "people", "import", str(roster), str(tmp_path), admin=True)
    assert refused.returncode == 1
    assert "no 'name' column" in refused.stderr and "the first row must be the header" in refused.stderr
    roster.write_text("name,photos\nBarack Obama,obama_1.jpg\n")
    assert "needs the admin token" in cli(running, "people", "import", str(roster), str(tmp_path)).stderr
