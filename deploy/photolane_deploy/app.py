"""Build the CDK app: the stack from context, checked by cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Aspects, Environment
from cdk_nag import AwsSolutionsChecks

from .config import DeployConfig
from .stack import PhotolaneStack

DEFAULT_REGION = "us-east-1"
FEATURE_FLAGS = {
    # Server access logs delivered under a bucket policy (not ACLs): the buckets enforce owner-only objects.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def region() -> str:
    """The region: the CDK CLI's (from the AWS profile) when it runs us, else AWS_REGION, else us-east-1.
    It is written into the template (ALB access logging needs it); the account never is."""
    return os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[App, PhotolaneStack]:
    app = App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir, analytics_reporting=False)
    config = DeployConfig.from_context(app.node)
    stack = PhotolaneStack(app, config.stack_name, config=config, env=Environment(region=region()),
                           description="photolane: upload behind an ALB, processor and notifier on SQS (deploy/)")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack
