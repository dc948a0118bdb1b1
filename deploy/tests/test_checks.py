"""The synthesized template passes cfn-lint (no errors) and cdk-nag's AwsSolutions pack, where each
finding left is acknowledged in code (photolane_deploy/nag.py) with its reason."""

from __future__ import annotations

import csv

import pytest
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint_file

from .conftest import Synthesized


@pytest.fixture(params=["synthesized", "with_certificate"])
def variant(request: pytest.FixtureRequest) -> Synthesized:
    """Both ways to HTTPS: CloudFront in front (the default), and a certificate on the ALB."""
    return request.getfixturevalue(request.param)


def test_cfn_lint_finds_no_error(variant: Synthesized) -> None:
    matches = lint_file(variant.path, config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.severity == "error"]
    assert not errors, "\n".join(errors)
    # W3005 (a DependsOn also implied by a Ref) is the ECS pattern's own, and harmless.
    warnings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id != "W3005"]
    assert not warnings, "\n".join(warnings)


def test_cdk_nag_finds_nothing_unacknowledged(variant: Synthesized) -> None:
    annotations = Annotations.from_stack(variant.stack)
    findings = [*annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")),
                *annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))]
    assert not findings, "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


def test_the_cdk_itself_warns_of_nothing(variant: Synthesized) -> None:
    """E.g. the listener's replaced default action (behind CloudFront) is acknowledged where it is made."""
    warnings = Annotations.from_stack(variant.stack).find_warning("*", Match.any_value())
    assert not warnings, "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_cdk_nag_ran_and_every_acknowledgement_has_a_reason(variant: Synthesized) -> None:
    report = variant.path.parent / f"AwsSolutions-{variant.stack.artifact_id}-NagReport.csv"
    if not report.exists():  # cdk-nag names it after the stack's path
        report = next(variant.path.parent.glob("AwsSolutions-*-NagReport.csv"))
    rows = list(csv.DictReader(report.open()))
    assert len(rows) > 100, "cdk-nag did not check the stack"
    assert not [r for r in rows if r["Compliance"] == "Non-Compliant"]
    suppressed = [r for r in rows if r["Compliance"] == "Suppressed"]
    assert suppressed, "expected acknowledged findings (see nag.py)"
    assert all(len(r["Exception Reason"]) > 40 for r in suppressed), suppressed
    assert {r["Rule ID"] for r in suppressed} <= {"AwsSolutions-IAM5", "AwsSolutions-ECS2", "AwsSolutions-ECS4",
                                                    "AwsSolutions-EC23", "AwsSolutions-SMG4", "AwsSolutions-IAM4",
                                                    "AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR3",
                                                    "AwsSolutions-CFR4", "AwsSolutions-CFR5"}
    # IAM4 only for the custom-resource provider's logs, never on a task or execution role.
    assert {r["Resource ID"].split("/")[1] for r in suppressed if r["Rule ID"] == "AwsSolutions-IAM4"} == {
        "AWS679f53fac002430cb0da5b7982bd2287"}
