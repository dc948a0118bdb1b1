#!/usr/bin/env bash
# make bench-image: the processor benchmark inside the processor image, for dlib built with AVX2 and
# OpenBLAS (the image as shipped) and for dlib's default source build; each writes its section of
# BENCHMARKS.md. Builds the default-dlib variant when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-/usr/bin/docker}
scripts/docker-engine.sh
"$DOCKER" image inspect photolane/processor:latest >/dev/null 2>&1 || IMAGES=processor scripts/build-images.sh
"$DOCKER" image inspect photolane/processor:default-dlib >/dev/null 2>&1 \
  || IMAGES=processor DLIB_MARCH= TAG=default-dlib LATEST=0 scripts/build-images.sh

run() {  # image section title
  local out
  out=$(mktemp)
  "$DOCKER" run --rm --network none -v "$PWD/tests/fixtures/faces:/faces:ro" --entrypoint python "$1" \
    -m photolane_processor.bench --runs 9 --faces /faces --out - --section "$2" --title "$3" \
    --command "make bench-image" > "$out"
  .venv/bin/python -m photolane_processor.bench --splice "$out" --section "$2"
  rm -f "$out"
}
run photolane/processor:latest image-avx2 "In the processor image: dlib built with AVX2 (-march=x86-64-v3) and OpenBLAS"
run photolane/processor:default-dlib image-default "In an image with dlib's default source build (for comparison)"
