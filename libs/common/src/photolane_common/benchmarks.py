"""BENCHMARKS.md, where each benchmark command rewrites only its own section (between its markers)."""

from __future__ import annotations

from pathlib import Path

INTRO = """# Benchmarks

Each command rewrites its own section: `make bench` (the processor in the venv, dlib from the
dlib-bin wheel), `make bench-image` (inside the processor image), `make bench-upload` (the upload
service's check of an upload, and its sign-in answer), `make bench-people` (the people registry and
the unknown faces at a million), `make bench-naming` (names right or no name, on real faces of
thousands of people).
"""


def splice(report: Path, name: str, section: str, intro: str = INTRO) -> None:
    """Replace (or add) one section of the report, between its markers."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = report.read_text() if report.exists() else intro
    block = f"{begin}\n{section.rstrip()}\n{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    report.write_text(text)
