"""Least privilege, proven (deploy/README.md, "How the grants are proven").

The AWS stand-in enforces no IAM, so the end-to-end and browser suites cannot see a missing grant. Their
services record every AWS call they make (``photolane_common.audit``); run after them (conftest.py), this
checks each recorded call against its service's task role in the synthesized ``PhotolaneStack``, and each
grant of those roles against the calls: one no call used is removed, or listed in exceptions.toml with
the reason it is needed all the same.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Synthesized
from .conftest import SuitesRun
from .policy import (
    Call,
    Local,
    Statement,
    allowing,
    grants,
    label,
    local_resources,
    role_statements,
    suggestion,
    wildcard,
)

SERVICES = ("upload", "processor", "notifier")
EXCEPTIONS = Path(__file__).with_name("exceptions.toml")


@dataclass(frozen=True)
class Roles:
    locals: dict[str, Local]
    statements: dict[str, list[Statement]]


@pytest.fixture(scope="module")
def roles(synthesized: Synthesized) -> Roles:
    locals_ = local_resources(synthesized.json)
    return Roles(locals_, {s: role_statements(synthesized.json, s, locals_) for s in SERVICES})


@dataclass(frozen=True)
class Exceptions:
    unused: dict[tuple[str, str, str], str]  # (service, action, resource) → why it is granted all the same
    not_needed: list[dict[str, str]]  # recorded calls that need no grant: service, action, resource (a pattern)

    @classmethod
    def load(cls, path: Path = EXCEPTIONS) -> Exceptions:
        data = tomllib.loads(path.read_text())
        unused = {(e["service"], action, resource): e["reason"]
                  for e in data.get("unused", []) for action in e["actions"] for resource in e["resources"]}
        return cls(unused, data.get("not_needed", []))

    def needs_no_grant(self, call: Call) -> bool:
        return any(e["service"] == call.service and e["action"] == call.action
                   and wildcard(e["resource"], call.resource) for e in self.not_needed)


def recorded(folder: Path) -> dict[str, set[Call]]:
    """Each service's recorded calls (the lines of ``<folder>/<service>.jsonl``), normalized."""
    calls: dict[str, set[Call]] = {service: set() for service in SERVICES}
    for service in SERVICES:
        path = folder / f"{service}.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            record: dict[str, Any] = json.loads(line)
            calls[service].add(Call.from_record(record))
    return calls


def _shown(call: Call, roles: Roles) -> str:
    """The call's resource, objects collapsed to their key prefix."""
    resource = call.resource
    if resource.startswith("arn:aws:s3:::") and "/" in resource:
        bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
        resource = f"arn:aws:s3:::{bucket}/{key.split('/', 1)[0] + '/*' if '/' in key else key}"
    return label(resource, roles.locals)


def _session_calls(suites_run: SuitesRun, aws_calls: Path) -> dict[str, set[Call]]:
    if not suites_run.selected:
        pytest.skip("no end-to-end or browser test in this session, so no AWS call was recorded")
    calls = recorded(aws_calls)
    silent = [service for service, found in calls.items() if not found]
    if silent and suites_run.failed:
        pytest.skip(f"the end-to-end tests failed and {', '.join(silent)} recorded nothing")
    assert not silent, (f"{', '.join(silent)} recorded no AWS call in {aws_calls}: is PHOTOLANE_AWS_CALL_LOG "
                        "set by tests/e2e/conftest.py, and audit.install_from_env called by each __main__?")
    return calls


def test_every_recorded_aws_call_is_allowed_by_its_task_role(suites_run: SuitesRun, aws_calls: Path,
                                                             roles: Roles) -> None:
    calls, exceptions = _session_calls(suites_run, aws_calls), Exceptions.load()
    denied = {service: sorted((c for c in found if not allowing(roles.statements[service], c)
                               and not exceptions.needs_no_grant(c)), key=lambda c: (c.action, c.resource))
              for service, found in calls.items()}
    if not any(denied.values()):
        return
    lines = ["AWS calls the task roles do not allow (on AWS each would fail with AccessDenied):"]
    for service, refused in denied.items():
        shown = sorted({(c.action, _shown(c, roles)) for c in refused})
        lines += [f"  {service:<9} {action:<32} {resource}" for action, resource in shown]
    lines.append("Grant them in deploy/photolane_deploy/stack.py (or, if a call needs no grant, list it under "
                 "[[not_needed]] in deploy/tests/grants/exceptions.toml with the reason):")
    for service, refused in denied.items():
        if refused:
            lines.append(f"  in _grant_{service}:")
            lines += [f"    {line}" for line in suggestion(refused, roles.locals)]
    lines.append(f"(the records: {aws_calls}/<service>.jsonl)")
    pytest.fail("\n".join(lines), pytrace=False)


def test_every_task_role_grant_is_used_or_listed_with_its_reason(suites_run: SuitesRun, aws_calls: Path,
                                                                 roles: Roles) -> None:
    calls, exceptions = _session_calls(suites_run, aws_calls), Exceptions.load()
    if reason := suites_run.incomplete():
        pytest.skip(f"needs every end-to-end and browser test of the session to pass: {reason}")
    unused = []
    for service, statements in roles.statements.items():
        used = {(a, r) for call in calls[service] if not exceptions.needs_no_grant(call)
                for _, a, r in allowing(statements, call)}
        unused += sorted({(service, a, r) for _, a, r in grants(statements)
                          if (a, r) not in used and (service, a, r) not in exceptions.unused})
    assert not unused, "\n".join([
        "Grants that no recorded AWS call used: remove them from _grant_<service> in "
        "deploy/photolane_deploy/stack.py, or list them in deploy/tests/grants/exceptions.toml with the reason "
        "they are needed all the same:",
        *[f"  {service:<9} {action:<32} {label(resource, roles.locals)}" for service, action, resource in unused]])


def test_the_listed_exceptions_are_granted_and_give_a_reason(roles: Roles) -> None:
    exceptions = Exceptions.load()
    granted = {(service, a, r) for service, statements in roles.statements.items() for _, a, r in grants(statements)}
    stale = sorted(set(exceptions.unused) - granted)
    assert not stale, "listed in exceptions.toml as unused but not granted (remove them from the list):\n" + \
        "\n".join(f"  {service} {action} {resource}" for service, action, resource in stale)
    assert all(len(reason) > 20 for reason in exceptions.unused.values())
    assert all(len(e["reason"]) > 20 and e["service"] in SERVICES for e in exceptions.not_needed)
