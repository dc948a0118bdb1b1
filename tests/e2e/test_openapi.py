"""Property-based: Schemathesis against the running stack, from the service's own /api/openapi.json.

Every operation of the description gets the coverage phase's boundary cases (each parameter and
field at its limits and just past them) and Hypothesis-generated requests, valid and invalid
(``mode = "all"``), all with the admin token: no answer may be a 5xx, and every answer's status,
content type, body and headers must be what the description says. Bounded (``MAX_EXAMPLES`` generated
requests an operation in the fuzzing phase, deterministic generation) so that every run sends the same
requests and takes about a minute.

Schemathesis runs as its CLI (``python -m schemathesis.cli``): its pytest plugin does not work with
this pytest (it sets ``Node._nodeid``, gone in pytest 9), and the CLI's report says which request
failed and how to replay it with curl.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import Running, started

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 15
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance")
# schemathesis.toml (the keys: schemathesis/config/schema.json in the installed package)
CONFIG = f"""
[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[phases.examples]
enabled = true

[phases.coverage]
enabled = true
unexpected-methods = []

[phases.fuzzing]
enabled = true

[phases.stateful]
enabled = false
"""


@pytest.fixture(scope="module")
def api_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with started(tmp_path_factory) as running:  # the admin's uploads are not counted: no 429 here
        yield running


def test_every_answer_matches_the_description(api_stack: Running, tmp_path: Path) -> None:
    described = requests.get(f"{api_stack.url}/api/openapi.json", timeout=10).json()
    # Every operation but the description's own address, which Schemathesis leaves out of what it tests.
    operations = sum(len(methods) for methods in described["paths"].values()) - 1
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    began = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{api_stack.url}/api/openapi.json", "--header", f"Authorization: Bearer {api_stack.admin_token}",
         "--checks", ",".join(CHECKS), "--workers", "1", "--request-timeout", "30", "--no-color",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-30000:]
    listed = sorted(f"{m.upper()} {p}" for p, ms in described["paths"].items() for m in ms)
    assert re.search(rf"Operations:\s+{operations} selected / {operations} total", output), (listed, output[-3000:])
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) >= operations * 5, output[-5000:]
    print(f"schemathesis: {operations} operations, {generated.group(1)} requests, "
          f"{time.monotonic() - began:.0f} s")
