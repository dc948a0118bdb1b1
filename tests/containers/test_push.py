"""`REGISTRY=host:port make push` against a local registry (Debian's docker-registry): the three
images, tagged with the git commit, are in the registry with the very layers and config built here."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
import requests

import docker
from photolane.standin import free_port, stop_process, wait_until
from photolane.testing import ROOT

from .conftest import DOCKER

pytestmark = pytest.mark.containers

SERVICES = ("upload", "processor", "notifier")
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    """host:port of a registry of our own: its storage in a temporary folder, on a free port."""
    folder = tempfile.mkdtemp(prefix="photolane-registry-")
    port = free_port()
    process = subprocess.Popen([str(ROOT / "scripts" / "local-registry.sh"), folder, str(port)])
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == 200, 120,
                   "local registry", process)
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)


def test_make_push_puts_the_three_images_in_the_registry(registry: str) -> None:
    tag = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    env = {**os.environ, "REGISTRY": registry, "DOCKER": DOCKER, "PHOTOLANE_NO_PULL": "1"}
    subprocess.run(["make", "push"], cwd=ROOT, env=env, check=True, timeout=1800)

    client = docker.from_env()
    try:
        for service in SERVICES:
            name = f"photolane/{service}"
            tags = requests.get(f"http://{registry}/v2/{name}/tags/list", timeout=10).json()
            assert tags == {"name": name, "tags": [tag]}
            answer = requests.get(f"http://{registry}/v2/{name}/manifests/{tag}", headers={"Accept": MANIFEST_V2},
                                  timeout=10)
            assert answer.status_code == 200, answer.text
            manifest = answer.json()
            assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MANIFEST_V2
            local = client.images.get(f"{name}:{tag}")
            assert manifest["config"]["digest"] == local.id  # the image built here, not another one
            assert len(manifest["layers"]) == len(local.attrs["RootFS"]["Layers"])
            blob = requests.head(f"http://{registry}/v2/{name}/blobs/{manifest['layers'][-1]['digest']}", timeout=10)
            assert blob.status_code == 200
    finally:
        for service in SERVICES:  # only the registry tags this test made; the images stay
            try:
                client.images.remove(f"{registry}/photolane/{service}:{tag}", noprune=True)
            except docker.errors.ImageNotFound:
                pass
