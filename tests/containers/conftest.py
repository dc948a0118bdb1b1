"""photolane's images, started with docker compose through testcontainers (make test-containers).

Needs a Docker engine and the images: `make images` (scripts/docker-engine.sh brings the engine up).
Each run is a compose project of its own, on free ports of 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from testcontainers.compose import DockerCompose

import docker
from photolane.standin import StandInClient, free_port
from photolane.testing import ROOT

IMAGES = ("standin", "upload", "notifier", "processor")
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")


@dataclass
class ComposeStack:
    compose: DockerCompose
    project: str
    url: str
    admin_token: str
    standin: StandInClient

    def container(self, service: str) -> docker.models.containers.Container:
        ids = [c.ID for c in self.compose.get_containers(include_all=True) if c.Service == service]
        assert ids, f"no {service} container"
        return docker.from_env().containers.get(ids[0])


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    client = docker.from_env()
    missing = [name for name in IMAGES if not client.images.list(name=f"photolane/{name}:latest")]
    assert not missing, f"images missing: {missing}; build them with `make images`"
    port, aws_port = free_port(), free_port()
    project = f"photolane-test-{uuid.uuid4().hex[:8]}"
    env = {
        "COMPOSE_PROJECT_NAME": project,
        "TAG": "latest",
        "PHOTOLANE_PORT": str(port),
        "PHOTOLANE_AWS_PORT": str(aws_port),
        "PHOTOLANE_ADMIN_TOKEN": secrets.token_urlsafe(16),
        # short, so that a job whose worker was killed comes back quickly to the restarted one
        "PHOTOLANE_VISIBILITY_TIMEOUT_SECONDS": "10",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    compose = DockerCompose(ROOT, "docker-compose.yml", build=False, pull=False, wait=True,
                            docker_command_path=DOCKER)
    try:
        compose.start()
        yield ComposeStack(compose, project, f"http://127.0.0.1:{port}", env["PHOTOLANE_ADMIN_TOKEN"],
                           StandInClient(f"http://127.0.0.1:{aws_port}"))
    finally:
        compose.stop(down=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
