"""Each benchmark command rewrites its own section of BENCHMARKS.md and leaves the others."""

from pathlib import Path

from photolane_common.benchmarks import splice


def test_a_section_is_added_then_replaced_and_the_others_stay(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    splice(report, "venv", "venv figures 1")
    splice(report, "upload", "upload figures 1")
    splice(report, "venv", "venv figures 2")
    text = report.read_text()
    assert text.startswith("# Benchmarks") and "make bench-upload" in text
    assert "venv figures 2" in text and "venv figures 1" not in text and "upload figures 1" in text
    assert text.index("<!-- bench:venv -->") < text.index("<!-- bench:upload -->")
