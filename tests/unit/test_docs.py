"""The documentation stands alone and stays true to the code.

- Every setting the code reads (the fields of the pydantic settings classes, ``PHOTOLANE_`` + the field
  name in capitals, or their ``validation_alias``; and every ``PHOTOLANE_*`` name written in the source)
  is a row of exactly one settings table across the README files; and every row names a real setting.
- Every relative link of every markdown file resolves to a file of the repository, and its ``#anchor``
  to a heading of that file.
- No markdown link points outside the repository (no http(s) link, autolink or bare URL).
- Every route the upload service serves is in ARCHITECTURE.md's HTTP API table, and nothing else is.

Static reading only (no import of the services): fast, and it runs with ``make test`` / ``make test-unit``.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "PHOTOLANE_"
# Where the code that reads settings lives (tests excluded: a name used only by tests is not a setting).
SOURCE_DIRS = [ROOT / "libs" / "common" / "src", ROOT / "src", ROOT / "deploy" / "photolane_deploy",
               *sorted((ROOT / "services").glob("*/src"))]
# Files outside Python that read PHOTOLANE_* variables (a documented row may name one of theirs).
OTHER_READERS = ["docker-compose.yml", "Makefile", "scripts/*.sh", "services/*/Dockerfile", "docker/*/Dockerfile"]
# Settings read only by the tests (documented where they are used, not in a settings table).
TEST_ONLY = {"PHOTOLANE_CHAOS_PHOTOS"}
# Settings the project documents that are boto3's own, not PHOTOLANE_* (each must have one row too).
OTHER_SETTINGS = {"AWS_ENDPOINT_URL"}
SKIP_DIRS = {".git", ".venv", "node_modules", "cdk.out", ".pytest_cache", ".ruff_cache", ".photolane",
             "__pycache__", "build", "dist"}
# Links that may point outside the repository: none (credits name their source in plain text).
ALLOWED_EXTERNAL: set[str] = set()

NAME = re.compile(r"\bPHOTOLANE_[A-Z0-9_]*[A-Z0-9]\b")


def _files(pattern: str) -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob(pattern)):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        found.append(path)
    return found


def _source_files() -> list[Path]:
    return [p for d in SOURCE_DIRS for p in sorted(d.rglob("*.py")) if "tests" not in p.relative_to(ROOT).parts]


# -- the settings the code reads -------------------------------------------------------------------


def _settings_fields(tree: ast.Module) -> dict[str, tuple[list[str], list[str]]]:
    """Class name -> (base names, env names of its fields) for every class of a module."""
    classes = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                 for b in node.bases]
        names = []
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            field = item.target.id
            if field.startswith("_") or "ClassVar" in ast.unparse(item.annotation):
                continue
            alias = None
            if isinstance(item.value, ast.Call):
                for keyword in item.value.keywords:
                    if keyword.arg in ("validation_alias", "alias") and isinstance(keyword.value, ast.Constant):
                        alias = keyword.value.value
            names.append(alias or PREFIX + field.upper())
        classes[node.name] = (bases, names)
    return classes


@cache
def settings_read_by_code() -> dict[str, str]:
    """Every setting name the code reads -> where it was found."""
    classes: dict[str, tuple[list[str], list[str], Path]] = {}
    found: dict[str, str] = {}
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for name, (bases, fields) in _settings_fields(tree).items():
            classes[name] = (bases, fields, path)
        for match in NAME.finditer(text):
            found.setdefault(match.group(), str(path.relative_to(ROOT)))
    # Pydantic settings classes: BaseSettings and whatever derives from one (env_prefix PHOTOLANE_).
    settings_classes = {"BaseSettings"}
    while True:
        more = {n for n, (bases, _, _) in classes.items() if n not in settings_classes
                and any(b in settings_classes for b in bases)}
        if not more:
            break
        settings_classes |= more
    for name in settings_classes - {"BaseSettings"}:
        _, fields, path = classes[name]
        for field in fields:
            found.setdefault(field, f"{path.relative_to(ROOT)} ({name})")
    return {n: where for n, where in found.items() if n not in TEST_ONLY}


def test_the_settings_classes_are_found() -> None:
    names = settings_read_by_code()
    # One field of each settings class, so a change in how they are found cannot silently find none.
    for expected in ("PHOTOLANE_BUCKET", "PHOTOLANE_POLL_WAIT_SECONDS", "PHOTOLANE_ADMIN_TOKEN",
                     "PHOTOLANE_FACE_TOLERANCE", "PHOTOLANE_DELIVERY_LEASE_SECONDS", "AWS_ENDPOINT_URL",
                     "PHOTOLANE_AWS_PORT", "PHOTOLANE_RUN_DIR", "PHOTOLANE_URL"):
        assert expected in names, expected


# -- the README tables -----------------------------------------------------------------------------


def _without_code_blocks(text: str) -> list[tuple[int, str]]:
    """The lines of a markdown text outside fenced code blocks, numbered from 1."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0] * len(marker.group(1))
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is None:
            lines.append((number, line))
    return lines


def _first_cell(line: str) -> str | None:
    if not line.lstrip().startswith("|"):
        return None
    cells = re.split(r"(?<!\\)\|", line.strip())
    return cells[1] if len(cells) > 2 else None


@cache
def setting_rows() -> dict[str, list[str]]:
    """Setting name -> the table rows (file:line) whose first cell names it."""
    rows: dict[str, list[str]] = {}
    for path in _files("README.md"):
        for number, line in _without_code_blocks(path.read_text(encoding="utf-8")):
            cell = _first_cell(line)
            # A settings row: its first cell starts with a setting's name (a prose cell that merely
            # mentions one, such as an API call's limit, is not a row of that setting).
            if cell is None or not re.match(r"\s*`(?:PHOTOLANE|AWS)_", cell):
                continue
            for name in re.findall(r"`((?:PHOTOLANE|AWS)_[A-Z0-9_]+)`", cell):
                rows.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{number}")
    return rows


def test_every_setting_is_in_exactly_one_readme_table() -> None:
    rows = setting_rows()
    wanted = {**settings_read_by_code(), **{n: "documented" for n in OTHER_SETTINGS}}
    missing = {n: where for n, where in sorted(wanted.items()) if n not in rows}
    twice = {n: places for n, places in sorted(rows.items()) if n in wanted and len(places) > 1}
    assert not missing, f"settings read by the code with no README table row (name: where read): {missing}"
    assert not twice, f"settings with a row in more than one README table (keep one, refer to it): {twice}"


def test_every_documented_setting_is_read() -> None:
    read = set(settings_read_by_code()) | OTHER_SETTINGS
    for pattern in OTHER_READERS:
        for path in ROOT.glob(pattern):
            read |= set(NAME.findall(path.read_text(encoding="utf-8")))
    stale = {n: places for n, places in sorted(setting_rows().items())
             if n.startswith(PREFIX) and n not in read}
    assert not stale, f"README rows of settings nothing reads: {stale}"


# -- links -----------------------------------------------------------------------------------------

INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>]+)>")
BARE_URL = re.compile(r"(?:https?://|www\.)[^\s)<>]+", re.IGNORECASE)
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _without_inline_code(line: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", line)


def markdown_files() -> list[Path]:
    return _files("*.md")


def links_of(path: Path) -> list[tuple[int, str]]:
    """Every link target of a markdown file (outside code), with its line."""
    found = []
    for number, line in _without_code_blocks(path.read_text(encoding="utf-8")):
        text = _without_inline_code(line)
        targets = [m.group(1) for m in INLINE_LINK.finditer(text)]
        reference = REFERENCE.match(text)
        if reference:
            targets.append(reference.group(1))
        targets += AUTOLINK.findall(text) + HTML_LINK.findall(text)
        rest = INLINE_LINK.sub("", AUTOLINK.sub("", text))
        targets += BARE_URL.findall(rest)  # GitHub makes a link of a bare URL too
        found += [(number, t) for t in targets]
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text, lowercase, punctuation but - and _ dropped, spaces -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: Counter[str] = Counter()
    found = set()
    for _, line in _without_code_blocks(path.read_text(encoding="utf-8")):
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        base = slug(heading.group(1))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return frozenset(found)


def _external(target: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:|//|www\.)", target, re.IGNORECASE))


def test_the_markdown_files_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in markdown_files()}
    assert {"README.md", "ARCHITECTURE.md", "libs/common/README.md", "deploy/README.md"} <= names


def test_relative_links_resolve_inside_the_repository() -> None:
    broken = []
    for path in markdown_files():
        for number, target in links_of(path):
            if _external(target):
                continue
            where = f"{path.relative_to(ROOT)}:{number}: {target}"
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
            if not resolved.is_relative_to(ROOT):
                broken.append(f"{where} (outside the repository)")
            elif not resolved.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and resolved.suffix == ".md" and unquote(anchor).lower() not in anchors(resolved):
                broken.append(f"{where} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_link_points_outside_the_repository() -> None:
    outside = [f"{path.relative_to(ROOT)}:{number}: {target}"
               for path in markdown_files() for number, target in links_of(path)
               if _external(target) and target not in ALLOWED_EXTERNAL]
    assert not outside, "links outside the repository (name the source in plain text instead):\n" + "\n".join(outside)


def test_the_readme_links_the_architecture_document() -> None:
    readme = ROOT / "README.md"
    assert (ROOT / "ARCHITECTURE.md").is_file()
    assert any(t.partition("#")[0] == "ARCHITECTURE.md" for _, t in links_of(readme))
    text = (readme).read_text(encoding="utf-8")
    assert "shared folder" not in text and "../shared" not in text, "README refers to a document outside the repository"


def test_slug_follows_githubs_rules() -> None:
    assert slug("Faces at scale") == "faces-at-scale"
    assert slug("Settings (CDK context)") == "settings-cdk-context"
    assert slug("`photolane` and the API: who calls what") == "photolane-and-the-api-who-calls-what"
    assert slug("Run one service alone") == "run-one-service-alone"
    assert slug("snake_case & more") == "snake_case--more"


# -- the HTTP API table ----------------------------------------------------------------------------

UPLOAD_SRC = ROOT / "services" / "upload" / "src" / "photolane_upload"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _route(method: str, path: str) -> str:
    return f"{method.upper()} {re.sub(r'<[^>]*>', '<>', path) or '/'}"


def routes_served() -> set[str]:
    """Every ``METHOD /path`` of the upload service's blueprints (path parameters as ``<>``)."""
    routes = set()
    for path in sorted(UPLOAD_SRC.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        prefixes = {}
        for m in re.finditer(r"^(\w+)\s*=\s*Blueprint\(([^)]*)\)", text, re.MULTILINE):
            prefix = re.search(r"url_prefix\s*=\s*\"([^\"]*)\"", m.group(2))
            prefixes[m.group(1)] = prefix.group(1) if prefix else ""
        for m in re.finditer(r"^@(\w+)\.(get|post|put|patch|delete)\(\s*\"([^\"]*)\"", text, re.MULTILINE):
            if m.group(1) in prefixes:
                routes.add(_route(m.group(2), prefixes[m.group(1)] + m.group(3)))
        for m in re.finditer(r"^@(\w+)\.route\(\s*\"([^\"]*)\"(?:[^)]*methods\s*=\s*\[([^\]]*)\])?", text,
                             re.MULTILINE):
            if m.group(1) in prefixes:
                for method in re.findall(r"\w+", m.group(3) or "GET"):
                    routes.add(_route(method, prefixes[m.group(1)] + m.group(2)))
    return routes


def routes_documented() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("\n## HTTP API", 1)[1].split("\n## ", 1)[0]
    routes = set()
    for _, line in _without_code_blocks(section):
        cell = _first_cell(line) or ""
        for method, path in re.findall(rf"`({'|'.join(METHODS)}) (/[^`\s]*)`", cell):
            routes.add(_route(method, path))
    return routes


def test_every_route_is_in_the_architecture_document() -> None:
    served, documented = routes_served(), routes_documented()
    assert len(served) > 40, f"the routes were not found: {sorted(served)}"
    missing, stale = sorted(served - documented), sorted(documented - served)
    assert not missing, f"routes served but not in ARCHITECTURE.md's HTTP API table: {missing}"
    assert not stale, f"routes in ARCHITECTURE.md's HTTP API table that are not served: {stale}"
