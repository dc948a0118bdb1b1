"""After make deploy: print where photolane answers, from the stack outputs the cdk CLI wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    outputs = json.loads(Path(path).read_text())
    for stack, values in outputs.items():
        if "Url" not in values:  # not this app's stack, or an endpoint that keeps no outputs
            print(f"{stack} is deployed; it reported no URL (see the CloudFormation console)")
            continue
        print(f"{stack} is deployed: {values['Url']}")
        print(f"  admin token: aws secretsmanager get-secret-value --secret-id {values['AdminTokenSecret']} "
              "--query SecretString --output text")
        print(f"  bucket: {values['Bucket']} (drop photos under incoming/)")
        if "DashboardName" in values:
            print(f"  figures: the CloudWatch dashboard {values['DashboardName']}")
        print(f"  command line: export PHOTOLANE_URL={values['Url']} PHOTOLANE_JOBS_QUEUE={values['JobsQueue']}; "
              "photolane --help")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
