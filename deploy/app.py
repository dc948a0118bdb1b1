#!/usr/bin/env python3
"""The CDK app: ``python deploy/app.py`` writes the CloudFormation template (make synth; no account
needed), and the cdk CLI runs it for make deploy / diff / destroy (context: -c tag=<git commit>)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from photolane_deploy.app import build_app


def main() -> int:
    outdir = os.environ.get("CDK_OUTDIR") or str(Path(__file__).resolve().parent / "cdk.out")
    app, stack = build_app(outdir=outdir)
    assembly = app.synth()
    template = Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
    if "CDK_OUTDIR" not in os.environ:  # run by hand or make synth, not by the cdk CLI
        print(f"synth: {template} ({template.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
