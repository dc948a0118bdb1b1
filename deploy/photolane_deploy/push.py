"""make push: the three images, tagged with the git commit, pushed to ECR (or to REGISTRY=host:port).

The images are built first by scripts/build-images.sh (the same Dockerfiles as make images). Without
REGISTRY the target is ECR of the account and region of the AWS credentials: the repositories
photolane/<service> are created when missing (push owns them, so the first push needs no deployed
stack; make destroy leaves them and their images). Pushing goes through the Docker SDK for Python.

    python -m photolane_deploy.push --tag <commit> [--registry host:port]
    python -m photolane_deploy.push --tag <commit> --check     # are the images in ECR? (make deploy)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import docker.errors

import docker

from .config import REPOSITORY_PREFIX, SERVICES

KEEP_IMAGES = 30  # per repository: older images expire (ECR lifecycle policy)


class PushError(Exception):
    """Something the user can fix: no credentials, no engine, an image missing."""


@dataclass(frozen=True)
class Registry:
    host: str
    auth: dict[str, str] | None = None  # None: no login (a local registry)


def ecr_registry(session: Any | None = None) -> tuple[Registry, Any]:
    """ECR of the credentials' account and region, logged in through boto3 (no aws CLI needed)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    # boto3 reads AWS_DEFAULT_REGION only; the CDK CLI and the services also take AWS_REGION.
    session = session or boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
    if session.region_name is None:
        raise PushError("no AWS region: set AWS_REGION (or a region in your AWS profile)")
    try:
        account = session.client("sts").get_caller_identity()["Account"]
        ecr = session.client("ecr")
        token = ecr.get_authorization_token()["authorizationData"][0]
    except (NoCredentialsError, NoRegionError) as exc:
        raise PushError(f"no AWS credentials ({exc}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                        "or push elsewhere with REGISTRY=host:port make push") from exc
    except (ClientError, BotoCoreError) as exc:
        raise PushError(f"AWS refused: {exc}") from exc
    username, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    host = f"{account}.dkr.ecr.{session.region_name}.amazonaws.com"
    return Registry(host, {"username": username, "password": password, "serveraddress": token["proxyEndpoint"]}), ecr


def ensure_repositories(ecr: Any) -> None:
    """photolane/<service>, scanned on push, encrypted, the last KEEP_IMAGES images kept."""
    lifecycle = {"rules": [{
        "rulePriority": 1,
        "description": f"keep the last {KEEP_IMAGES} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"},
    }]}
    for service in SERVICES:
        name = f"{REPOSITORY_PREFIX}/{service}"
        try:
            ecr.create_repository(
                repositoryName=name,
                imageScanningConfiguration={"scanOnPush": True},
                encryptionConfiguration={"encryptionType": "AES256"},
            )
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(lifecycle))
            print(f"push: created ECR repository {name}", file=sys.stderr)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass


def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise PushError(f"no Docker engine answers ({exc}); start one with scripts/docker-engine.sh") from exc
    return client


def push_image(client: docker.DockerClient, service: str, tag: str, registry: Registry) -> str:
    """Tag photolane/<service>:<tag> for the registry and push it; the pushed reference."""
    local = f"{REPOSITORY_PREFIX}/{service}:{tag}"
    try:
        image = client.images.get(local)
    except docker.errors.ImageNotFound as exc:
        raise PushError(f"image {local} not built (make push builds it first)") from exc
    repository = f"{registry.host}/{REPOSITORY_PREFIX}/{service}"
    image.tag(repository, tag)
    for line in client.images.push(repository, tag, auth_config=registry.auth, stream=True, decode=True):
        if "error" in line:  # the engine reports failures in the stream, not as an exception
            raise PushError(f"push of {repository}:{tag} failed: {line['error']}")
    return f"{repository}:{tag}"


def check_pushed(tag: str, session: Any | None = None) -> None:
    """Every image of this tag is in ECR (make deploy asks before it deploys)."""
    _, ecr = ecr_registry(session)
    missing = []
    for service in SERVICES:
        try:
            ecr.describe_images(repositoryName=f"{REPOSITORY_PREFIX}/{service}", imageIds=[{"imageTag": tag}])
        except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
            missing.append(service)
    if missing:
        raise PushError(f"images of tag {tag} not in ECR: {', '.join(missing)}; run make push first")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True, help="the image tag (make push: the git commit)")
    parser.add_argument("--registry", default="", help="host:port of any registry (default: ECR)")
    parser.add_argument("--check", action="store_true", help="only check that the tag is in ECR")
    args = parser.parse_args(argv)
    try:
        if args.check:
            check_pushed(args.tag)
            return 0
        client = engine()
        if args.registry:
            registry = Registry(args.registry)
        else:
            registry, ecr = ecr_registry()
            ensure_repositories(ecr)
        for service in SERVICES:
            print(f"push: {push_image(client, service, args.tag, registry)}", file=sys.stderr)
    except PushError as exc:
        print(f"push: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
