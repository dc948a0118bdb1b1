"""The command line's pure parts: which files a folder gives, attributes, numbers shown."""

from pathlib import Path

import click
import pytest

from photolane.cli import _attribute, _clashing_stems, _number
from photolane.client import photo_files


def test_folders_give_their_images_recursively_and_named_files_always(tmp_path: Path) -> None:
    for name in ("a.JPG", "b.png", "sub/c.webp", "sub/deeper/d.heic", "notes.txt", ".hidden/e.jpg", ".f.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in photo_files([tmp_path])]
    assert found == ["a.JPG", "b.png", "sub/c.webp", "sub/deeper/d.heic"]
    assert list(photo_files([tmp_path / "notes.txt"])) == [tmp_path / "notes.txt"]


def test_attributes_keep_numbers_and_booleans() -> None:
    parsed = _attribute(None, None, ("role=vice president", "terms=2", "alive=true", "x=[1]", "eq=a=b"))
    assert parsed == {"role": "vice president", "terms": 2, "alive": True, "x": "[1]", "eq": "a=b"}
    with pytest.raises(click.BadParameter, match="'oops' is not key=value"):
        _attribute(None, None, ("oops",))


def test_names_shared_by_several_files_are_told_apart() -> None:
    assert _clashing_stems([Path("a/x.jpg"), Path("b/x.png"), Path("y.jpg")]) == {"x"}


@pytest.mark.parametrize(("value", "shown"), [(2.0, "2"), (2.5, "2.5"), (None, "-"), (1 / 3, "0.3333333333"),
                                              (1e20, "1e+20"), (-0.0, "0")])
def test_numbers_are_shown_plainly(value: float | None, shown: str) -> None:
    assert _number(value) == shown


def test_ctrl_c_while_the_import_reads_who_is_enrolled_says_so_plainly(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from photolane.cli import main
    from photolane.client import Api

    def interrupted(self: Api, collection: str | None = None) -> list:
        raise KeyboardInterrupt

    monkeypatch.setattr(Api, "people", interrupted)
    roster = tmp_path / "roster.csv"
    roster.write_text("name,photos\nAda Lovelace,ada.jpg\n")
    answer = CliRunner().invoke(main, ["--token", "t", "people", "import", str(roster), str(tmp_path)])
    assert answer.exit_code == 1 and "interrupted before anyone was sent" in answer.output
    assert "Traceback" not in answer.output
