"""The synthesized template passes cfn-lint (no errors) and cdk-nag's AwsSolutions pack, where each
finding left is acknowledged in code (photolane_deploy/nag.py) with its reason."""

from __future__ import annotations

import csv

from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint_file

from .conftest import Synthesized


def test_cfn_lint_finds_no_error(synthesized: Synthesized) -> None:
    matches = lint_file(synthesized.path, config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.severity == "error"]
    assert not errors, "\n".join(errors)
    # W3005 (a DependsOn also implied by a Ref) is the ECS pattern's own, and harmless.
    warnings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id != "W3005"]
    assert not warnings, "\n".join(warnings)


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Synthesized) -> None:
    annotations = Annotations.from_stack(synthesized.stack)
    findings = [*annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")),
                *annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))]
    assert not findings, "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


def test_cdk_nag_ran_and_every_acknowledgement_has_a_reason(synthesized: Synthesized) -> None:
    report = synthesized.path.parent / f"AwsSolutions-{synthesized.stack.artifact_id}-NagReport.csv"
    if not report.exists():  # cdk-nag names it after the stack's path
        report = next(synthesized.path.parent.glob("AwsSolutions-*-NagReport.csv"))
    rows = list(csv.DictReader(report.open()))
    assert len(rows) > 100, "cdk-nag did not check the stack"
    assert not [r for r in rows if r["Compliance"] == "Non-Compliant"]
    suppressed = [r for r in rows if r["Compliance"] == "Suppressed"]
    assert suppressed, "expected acknowledged findings (see nag.py)"
    assert all(len(r["Exception Reason"]) > 40 for r in suppressed), suppressed
    assert {r["Rule ID"] for r in suppressed} <= {"AwsSolutions-IAM5", "AwsSolutions-ECS2", "AwsSolutions-ECS4",
                                                    "AwsSolutions-EC23", "AwsSolutions-SMG4"}
