"""make push's AWS side against the stand-in: the ECR login through boto3, the repositories it owns,
and the check make deploy runs. (The push itself is tested against a real registry in
tests/containers/test_push.py.)"""

from __future__ import annotations

import json

import boto3
import pytest

from photolane.standin import STANDIN_ENV, StandInClient
from photolane_deploy.push import KEEP_IMAGES, PushError, check_pushed, ecr_registry, ensure_repositories


@pytest.fixture
def session(standin: StandInClient, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", standin.url)  # boto3's own variable: every client goes there
    return boto3.Session(aws_access_key_id=STANDIN_ENV["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=STANDIN_ENV["AWS_SECRET_ACCESS_KEY"],
                         region_name="us-east-1")


def test_ecr_login_names_the_accounts_registry(session: boto3.Session) -> None:
    registry, _ = ecr_registry(session)
    assert registry.host == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert registry.auth is not None and registry.auth["username"] == "AWS" and registry.auth["password"]


def test_push_creates_the_repositories_once(session: boto3.Session) -> None:
    _, ecr = ecr_registry(session)
    ensure_repositories(ecr)
    ensure_repositories(ecr)  # already there: nothing to do
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    for service in ("upload", "processor", "notifier"):
        repository = repositories[f"photolane/{service}"]
        assert repository["imageScanningConfiguration"]["scanOnPush"] is True
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=f"photolane/{service}")["lifecyclePolicyText"])
        assert policy["rules"][0]["selection"]["countNumber"] == KEEP_IMAGES


def test_deploy_refuses_a_tag_that_was_not_pushed(session: boto3.Session) -> None:
    _, ecr = ecr_registry(session)
    ensure_repositories(ecr)
    with pytest.raises(PushError, match="not in ECR: upload, processor, notifier; run make push first"):
        check_pushed("feedbee", session)
