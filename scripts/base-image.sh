#!/usr/bin/env bash
# Print the name of a Python 3.11 base image the Dockerfiles can build FROM.
# The official python:3.11-slim when it is here or can be pulled; otherwise one built from Debian's
# own packages with debootstrap (bookworm ships Python 3.11), imported as photolane/python:3.11-bookworm.
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
OFFICIAL=${OFFICIAL_BASE:-python:3.11-slim}
LOCAL=photolane/python:3.11-bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

for image in "$OFFICIAL" "$LOCAL"; do
  if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
done
# PHOTOLANE_NO_PULL=1 (CI sets it) never asks a registry outside the machine.
if [ -z "${PHOTOLANE_NO_PULL:-}" ] && timeout 60 "$DOCKER" pull -q "$OFFICIAL" >/dev/null 2>&1; then
  echo "$OFFICIAL"
  exit 0
fi

echo "base-image: $OFFICIAL cannot be pulled; building $LOCAL from Debian packages (debootstrap)" >&2
command -v debootstrap >/dev/null || { $sudo apt-get update -qq; $sudo apt-get install -y -qq debootstrap >/dev/null; }
root=$(mktemp -d /tmp/photolane-rootfs.XXXXXX)
trap '$sudo rm -rf "$root"' EXIT
$sudo debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$MIRROR" >&2
$sudo tee "$root/etc/apt/sources.list" >/dev/null <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
SOURCES
$sudo chroot "$root" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*'
$sudo tar -C "$root" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$LOCAL" >&2
echo "$LOCAL"
