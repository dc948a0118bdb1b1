#!/usr/bin/env bash
# Create the virtual environment and install photolane and everything it needs, on a fresh machine.
# Idempotent: run again to bring an existing venv up to date. Used by `make install` (and so by
# `make run` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing Debian packages: $*" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v "$PYTHON" >/dev/null; then
  apt_install python3 python3-venv
fi
# The processor mirrors JPEGs losslessly with libjpeg-turbo's TurboJPEG library.
if ! "$PYTHON" -c 'import ctypes.util, sys; sys.exit(ctypes.util.find_library("turbojpeg") is None)'; then
  apt_install libturbojpeg0
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: photolane needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# Some machines list package folders in their pip config that do not exist; pip warns per package.
exec 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"${PIP[@]}" install -c constraints.txt \
  -e libs/common -e services/upload -e services/processor -e services/notifier -e '.[test]' \
  -e deploy  # the CDK app and make push (aws-cdk-lib, cdk-nag, cfn-lint, the Docker SDK)
# face_recognition asks for `dlib`, which has no wheel and compiles for many minutes; dlib-bin is a
# wheel of the same library, so face_recognition goes in without its declared dependencies.
"${PIP[@]}" install -c constraints.txt dlib-bin
"${PIP[@]}" install -c constraints.txt --no-deps face_recognition
"$VENV/bin/python" -c 'import face_recognition, photolane_upload.app, photolane_processor.faces, photolane_notifier.handlers'
echo "bootstrap: $VENV is ready" >&2
