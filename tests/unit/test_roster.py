"""The roster of ``photolane people import``: its format, its refusals, who is already enrolled."""

from pathlib import Path

import pytest

from photolane.cli import ImportJob, _left, _which_photo
from photolane.client import ApiError, Unreachable
from photolane.roster import RosterError, known_people, parse_roster, problem_kind, read_roster


def test_columns_give_name_photos_id_and_typed_attributes() -> None:
    roster = parse_roster(
        "ID, Name ,photos,class,year,prefect,note\n"
        "007,  Ada   Lovelace ,ada.jpg; ada 2.jpg | sub/ada3.png,7B,2009,true,\n"
        's2,"Grace Hopper",grace.jpg,7C,1.5,false,"commas, quoted"\n'
        "\n")
    assert roster.has_ids and roster.attribute_columns == ["class", "year", "prefect", "note"]
    ada, grace = roster.rows
    assert (ada.number, ada.name, ada.roster_id, ada.photos) == (2, "Ada Lovelace", "007",
                                                                   ["ada.jpg", "ada 2.jpg", "sub/ada3.png"])
    # numbers and true/false keep their type, an empty cell is no attribute, the id stays text
    assert ada.attributes == {"class": "7B", "year": 2009, "prefect": True, "roster_id": "007"}
    assert grace.attributes == {"class": "7C", "year": 1.5, "prefect": False, "note": "commas, quoted",
                                "roster_id": "s2"}
    assert ada.key == ("id", "007") and ada.problem is None and grace.problem is None


def test_without_an_id_column_the_name_recognises_a_person() -> None:
    roster = parse_roster("name,photo\nAda Lovelace,a.jpg\nada  LOVELACE,b.jpg\n")
    first, second = roster.rows
    assert not roster.has_ids and first.key == ("name", "ada lovelace")
    assert first.attributes == {} and second.problem == "the same name as row 2"


def test_rows_that_cannot_be_sent_say_why() -> None:
    rows = parse_roster("id,name,photos\n"
                        "1,,a.jpg\n"
                        "2,No Photo, ; \n"
                        "3,Too Many,a.jpg|b.jpg|c.jpg|d.jpg|e.jpg|f.jpg|g.jpg|h.jpg|i.jpg|j.jpg|k.jpg\n"
                        "4,Extra,a.jpg,surprise\n"
                        "5,Short,a.jpg\n"
                        "5,Same Id,a.jpg\n").rows
    problems = {row.number: row.problem for row in rows}
    assert problems == {2: "no name", 3: "no photo named in the photos column",
                        4: "11 photos; at most 10 a person (add more with POST /api/people/<id>/photos)",
                        5: "4 cells but 3 columns (a comma inside a cell needs quotes)",
                        6: None, 7: "the same id as row 6"}


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("Ada Lovelace,ada.jpg\nGrace Hopper,grace.jpg\n", "no 'name' column"),  # no header
    ("name;photos\nAda;ada.jpg\n", "separated by ';' or tabs? use commas"),
    ("name,class\nAda,7B\n", "no 'photos' column"),
    ("name,photos,Class,class\n", "names 'class' twice"),
    ("name,photos,,x\n", "column 3 of the header has no name"),
    ("id,name,photos,external_id\n", "give one id column, not 'id', 'external_id'"),
])
def test_a_roster_that_cannot_be_read_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(RosterError, match=message.replace("?", r"\?").replace("(", r"\(")):
        parse_roster(text)


def test_a_bom_is_dropped_and_other_encodings_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("name,photos\r\nZoë,z.jpg\r\n".encode("utf-8-sig"))
    (row,) = read_roster(path).rows
    assert (row.name, row.photos) == ("Zoë", ["z.jpg"])
    path.write_bytes("name,photos\nZo\xeb,z.jpg\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8 text .* save it as CSV UTF-8"):
        read_roster(path)
    with pytest.raises(RosterError, match="No such file"):
        read_roster(tmp_path / "nope.csv")


def test_people_already_there_are_found_by_roster_id_and_by_name() -> None:
    people = [
        {"id": "a", "name": "Ada  Lovelace", "status": "enrolled", "attributes": {"roster_id": "007"}},
        {"id": "b", "name": "Grace Hopper", "status": "enrolled", "attributes": {}},
        {"id": "c", "name": "Grace Hopper", "status": "failed", "attributes": {}},
        {"id": "d", "name": "Alan Turing", "status": "failed", "attributes": {"roster_id": 12}},
    ]
    known = known_people(people)
    assert known[("id", "007")]["id"] == "a" and known[("name", "ada lovelace")]["id"] == "a"
    assert known[("name", "grace hopper")]["id"] == "b"  # the enrolled one wins over a failed one
    assert known[("id", "12")]["id"] == "d"


@pytest.mark.parametrize(("error", "kind"), [
    ("no face found in the photo; send one where the face is clear and upright", "no face"),
    ("2 faces found in the photo; send a photo of this person alone", "several faces"),
    ("the file is not a readable image (JPEG, PNG, WebP or HEIC)", "unreadable image"),
    ("the image is cut short or damaged: it does not decode", "unreadable image"),
    ("name is longer than 100 characters", "refused"),
])
def test_failures_are_named_by_kind(error: str, kind: str) -> None:
    assert problem_kind(error) == kind


def test_a_refusal_of_one_of_several_photos_names_its_file() -> None:
    assert _which_photo("photo 2: the file is empty", ["a.jpg", "b.jpg"]) == ("b.jpg", "the file is empty")
    assert _which_photo("name is required", ["a.jpg"]) == ("a.jpg", "name is required")
    assert _which_photo("name is required", ["a.jpg", "b.jpg"]) == (None, "name is required")


class FakeApi:
    """The calls ImportJob makes, answered as the service would."""

    def __init__(self, encoded: dict[str, tuple[str, str | None]], deletion: Exception | None = None) -> None:
        self.encoded, self.sent, self.deleted, self.collections = encoded, [], [], []
        self.deletion = deletion  # what a delete raises (the service out of reach …)

    def add_person(self, name: str, paths: list[Path], attributes: dict, collection: str | None = None) -> dict:
        if any(p.read_bytes() == b"text" for p in paths):
            raise ApiError("photo 1: the file is not a readable image (JPEG, PNG, WebP or HEIC)", 400)
        self.sent.append((name, [p.name for p in paths], attributes))
        self.collections.append(collection)
        return {"id": f"new-{name}", "status": "enrolling"}

    def wait_person(self, person_id: str, timeout: float, stop: object = None) -> dict:
        photos = [{"status": s, "error": e} for s, e in (self.encoded[n] for n in self.sent[-1][1])]
        return {"id": person_id, "status": "enrolled" if any(p["status"] == "enrolled" for p in photos) else "failed",
                "photos": photos}

    def delete_person(self, person_id: str) -> dict:
        if self.deletion is not None:
            raise self.deletion
        self.deleted.append(person_id)
        return {"id": person_id, "status": "deleted"}


def test_each_row_is_skipped_replaced_sent_or_reported(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "group.jpg"):
        (tmp_path / name).write_bytes(b"jpeg")
    (tmp_path / "notes.jpg").write_bytes(b"text")
    api = FakeApi({"a.jpg": ("enrolled", None), "b.jpg": ("enrolled", None),
                   "group.jpg": ("failed", "2 faces found in the photo; send a photo of this person alone")})
    known = known_people([{"id": "old-1", "name": "Ada", "status": "enrolled", "attributes": {"roster_id": "1"}},
                          {"id": "old-2", "name": "Bob", "status": "failed", "attributes": {"roster_id": "2"}}])
    job = ImportJob(api, tmp_path, known, timeout=5)
    rows = parse_roster("id,name,photos\n1,Ada,a.jpg\n2,Bob,b.jpg|group.jpg\n3,Cy,gone.jpg\n4,Di,notes.jpg\n"
                        "5,Ed,group.jpg\n").rows
    ada, bob, cy, di, ed = (job.run(row) for row in rows)
    assert (ada.status, ada.id) == ("skipped", "old-1")
    assert bob.status == "enrolled" and bob.id == "new-Bob"
    assert bob.failures == [("group.jpg", "several faces",
                             "2 faces found in the photo; send a photo of this person alone")]
    assert cy.status == "failed" and cy.failures[0][:2] == ("gone.jpg", "missing file")
    assert di.failures == [("notes.jpg", "unreadable image",
                            "the file is not a readable image (JPEG, PNG, WebP or HEIC)")]
    assert ed.status == "failed" and ed.failures[0][1] == "several faces"
    assert [name for name, _, _ in api.sent] == ["Bob", "Ed"]
    assert api.sent[0][2] == {"roster_id": "2"}
    # Ed has no sample enrolled: no person kept for the row, only its report line.
    assert api.deleted == ["old-2", "new-Ed"] and ed.id is None
    assert [_left(o) for o in (bob, cy, di, ed)] == ["enrolled from the other photos", "nobody enrolled",
                                                   "nobody enrolled", "nobody enrolled"]


def test_a_failed_row_whose_person_cannot_be_deleted_says_it_was_left(tmp_path: Path) -> None:
    (tmp_path / "wall.jpg").write_bytes(b"jpeg")
    api = FakeApi({"wall.jpg": ("failed", "no face found in the photo")}, deletion=Unreachable("not reachable"))
    row = parse_roster("name,photos\nEmpty Wall,wall.jpg\n").rows[0]
    outcome = ImportJob(api, tmp_path, {}, timeout=5).run(row)
    assert outcome.status == "failed" and outcome.id == "new-Empty Wall"
    assert outcome.failures == [("wall.jpg", "no face", "no face found in the photo")]
    assert _left(outcome) == "a failed person left: the next run replaces it, or remove it on the People page"
    api.deletion = ApiError("no person new-Empty Wall", 404)  # deleted meanwhile: nothing left
    assert ImportJob(api, tmp_path, {}, timeout=5).run(row).id is None


def test_an_import_into_a_collection_enrolls_everyone_there(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"jpeg")
    api = FakeApi({"a.jpg": ("enrolled", None)})
    job = ImportJob(api, tmp_path, {}, timeout=5, collection="7b")
    row = parse_roster("name,photos\nAda,a.jpg\n").rows[0]
    assert job.run(row).status == "enrolled" and api.collections == ["7b"]
