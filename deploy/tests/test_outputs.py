"""What make deploy prints, from the outputs file the cdk CLI writes."""

import json
from pathlib import Path

import pytest

from photolane_deploy.outputs import main


def test_the_url_token_command_and_command_line_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    outputs = {"Photolane": {"Url": "https://d1.cloudfront.net", "AdminTokenSecret": "arn:secret", "Bucket": "b",
                             "JobsQueue": "Photolane-DataJobsQueue-1"}}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    assert main(str(tmp_path / "outputs.json")) == 0
    printed = capsys.readouterr().out
    assert "Photolane is deployed: https://d1.cloudfront.net" in printed and "--secret-id arn:secret" in printed
    assert "export PHOTOLANE_URL=https://d1.cloudfront.net PHOTOLANE_JOBS_QUEUE=Photolane-DataJobsQueue-1" in printed


def test_a_stack_without_outputs_is_said_plainly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps({"Photolane": {}}))
    assert main(str(tmp_path / "outputs.json")) == 0
    assert "reported no URL" in capsys.readouterr().out
