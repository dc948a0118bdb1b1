#!/usr/bin/env bash
# A plain-HTTP image registry on 127.0.0.1 for testing `REGISTRY=host:port make push`: Debian's
# docker-registry (installed with apt-get when missing), its own storage and config in DIR.
#   scripts/local-registry.sh DIR PORT      # runs in the foreground until stopped (SIGTERM)
#   scripts/local-registry.sh --install     # only make sure the package is there
# The Docker engine pushes to 127.0.0.0/8 over plain HTTP without any insecure-registries setting.
set -euo pipefail

REGISTRY_BIN=/usr/bin/docker-registry
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if ! [ -x "$REGISTRY_BIN" ]; then
  echo "local-registry: installing Debian's docker-registry" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  # The package's own service listens on :5000 (photolane's port) where systemd starts it: stop it.
  if [ -d /run/systemd/system ]; then $sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
fi
[ "${1:-}" = --install ] && exit 0

dir=${1:?usage: local-registry.sh DIR PORT}
port=${2:?usage: local-registry.sh DIR PORT}
mkdir -p "$dir/data"
cat > "$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONFIG
exec "$REGISTRY_BIN" serve "$dir/config.yml"
