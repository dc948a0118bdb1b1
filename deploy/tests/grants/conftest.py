"""The grants check runs after every other test of the session, and knows what the end-to-end and
browser suites did in it: their services record their AWS calls to ``<basetemp>/aws-calls``
(``PHOTOLANE_AWS_CALL_LOG``, set by tests/e2e/conftest.py's ``started``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SUITES = (ROOT / "tests" / "e2e", ROOT / "tests" / "browser")
CHECKER = Path(__file__).with_name("test_grants.py")


def _in_suites(path: Path) -> bool:
    return any(path.is_relative_to(suite) for suite in SUITES)


@dataclass
class SuitesRun:
    """The end-to-end and browser tests of this session, and how they went."""

    selected: set[str] = field(default_factory=set)  # node ids
    files: set[Path] = field(default_factory=set)
    deselected: int = 0
    by_node_id: bool = False
    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)

    def incomplete(self) -> str | None:
        """Why the calls recorded may not be all the suites make (None: they ran whole and passed)."""
        missing = sorted(str(p.relative_to(ROOT)) for suite in SUITES for p in suite.glob("test_*.py")
                         if p not in self.files)
        if missing:
            return f"{', '.join(missing)} did not run in this session"
        if self.deselected or self.by_node_id:
            return "some end-to-end or browser tests were left out of this session"
        if self.failed:
            return f"{len(self.failed)} end-to-end or browser tests failed"
        if not_passed := self.selected - self.passed:
            return f"{len(not_passed)} end-to-end or browser tests did not pass (skipped, or not run yet)"
        return None


_RUN = SuitesRun()


def pytest_deselected(items: list[pytest.Item]) -> None:
    _RUN.deselected += sum(_in_suites(item.path) for item in items)


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if item.path == CHECKER]
    if checks:
        items[:] = [item for item in items if item.path != CHECKER] + checks
    _RUN.selected = {item.nodeid for item in items if _in_suites(item.path)}
    _RUN.files = {item.path for item in items if _in_suites(item.path)}
    _RUN.by_node_id = any("::" in arg for arg in config.args)


class _Outcomes:
    """A plugin of its own: a conftest's test-running hooks only hear the tests under its folder."""

    @staticmethod
    def pytest_runtest_logreport(report: pytest.TestReport) -> None:
        if report.nodeid not in _RUN.selected:
            return
        if report.failed:
            _RUN.failed.add(report.nodeid)
        elif report.when == "call" and report.passed:
            _RUN.passed.add(report.nodeid)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("photolane-grants-outcomes"):
        config.pluginmanager.register(_Outcomes(), "photolane-grants-outcomes")


@pytest.fixture
def suites_run() -> Iterator[SuitesRun]:
    yield _RUN


@pytest.fixture
def aws_calls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the services of this session's end-to-end and browser runs recorded to."""
    return tmp_path_factory.getbasetemp() / "aws-calls"
