"""The stack synthesized once per session (it takes seconds: jsii runs the CDK in node)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from photolane_deploy.app import build_app
from photolane_deploy.stack import PhotolaneStack


@dataclass(frozen=True)
class Synthesized:
    stack: PhotolaneStack
    template: Template
    path: Path  # the template file, as make synth writes it

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.json["Resources"].items() if r["Type"] == kind}


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    app, stack = build_app(context={"tag": "0123abc", **(context or {})}, outdir=str(outdir))
    assembly = app.synth()
    path = Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
    return Synthesized(stack, Template.from_stack(stack), path)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The defaults: no certificate, so CloudFront serves HTTPS in front of the ALB."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="session")
def with_certificate(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A certificate and a domain of one's own: the ALB's HTTPS listener, no CloudFront."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), {"certificate_arn": CERTIFICATE_ARN,
                                                           "domain_name": "photos.example.com"})


@pytest.fixture(scope="session")
def with_retention(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Photos kept 30 days (``-c retention_days=30``): the sweep's schedule and grants, and the backstops."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), {"retention_days": "30"})
