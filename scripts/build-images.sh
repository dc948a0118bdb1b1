#!/usr/bin/env bash
# Build photolane's images here: the stand-in, upload, notifier, processor (make images).
# The base is python:3.11-slim when it can be had, else one built from Debian packages; the
# machine's CA bundle goes to pip as a BuildKit secret (never into a layer).
# IMAGES="upload notifier" builds only those; DLIB_MARCH= (empty) builds dlib's default for comparison;
# TAG names the build (default: the git commit); LATEST=0 leaves the :latest tags alone.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-/usr/bin/docker}  # Debian's client: BuildKit without the buildx plugin
scripts/docker-engine.sh
BASE=${BASE_IMAGE:-$(scripts/base-image.sh)}
TAG=${TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}
CA=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -s "$CA" ] && secret=(--secret "id=ca,src=$CA")
declare -A DOCKERFILE=(
  [standin]=docker/standin/Dockerfile
  [upload]=services/upload/Dockerfile
  [notifier]=services/notifier/Dockerfile
  [processor]=services/processor/Dockerfile
)
extra=()
[ -n "${DLIB_MARCH+set}" ] && extra=(--build-arg "DLIB_MARCH=$DLIB_MARCH")

for name in ${IMAGES:-standin upload notifier processor}; do
  args=()
  [ "$name" = processor ] && args=("${extra[@]}")
  echo "build-images: photolane/$name:$TAG (base $BASE)" >&2
  start=$(date +%s)
  tags=(-t "photolane/$name:$TAG")
  [ "${LATEST:-1}" = 1 ] && tags+=(-t "photolane/$name:latest")
  DOCKER_BUILDKIT=1 "$DOCKER" build -q -f "${DOCKERFILE[$name]}" --build-arg "BASE_IMAGE=$BASE" "${secret[@]}" \
    "${args[@]}" "${tags[@]}" . >/dev/null
  size=$("$DOCKER" image inspect "photolane/$name:$TAG" --format '{{.Size}}')
  echo "build-images: photolane/$name:$TAG $((size / 1000000)) MB in $(( $(date +%s) - start )) s" >&2
done
