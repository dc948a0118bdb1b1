#!/usr/bin/env bash
# Create the virtual environment and install photolane and everything it needs, on a fresh machine.
# Idempotent: run again to bring an existing venv up to date. Used by `make install` (and so by
# `make run` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
STEPS=5
step() {  # one line a step: the first install takes minutes, and says what it is doing meanwhile
  echo "bootstrap: [$1/$STEPS] $2" >&2
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing Debian packages: $*" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

step 1 "checking for Python 3.11+, python3-venv and libturbojpeg (apt-get installs what is missing)"
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
  step 2 "creating the virtual environment $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
else
  step 2 "bringing the virtual environment $VENV up to date"
fi

# pip says what it downloads and installs (with its progress bars on a terminal) the first time; a
# venv that was installed before is brought up to date quietly (PIP_VERBOSE=1: say everything).
QUIET=()
if [ -f "$VENV/.photolane-installed" ] && [ -z "${PIP_VERBOSE:-}" ]; then QUIET=(-q); fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check "${QUIET[@]}")
# Some machines list package folders in their pip config that do not exist; pip warns per package.
exec 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
step 3 "installing photolane, its services and what they need (the first time: a few minutes)"
"${PIP[@]}" install -c constraints.txt \
  -e libs/common -e services/upload -e services/processor -e services/notifier -e '.[test]' \
  -e deploy  # the CDK app and make push (aws-cdk-lib, cdk-nag, cfn-lint, the Docker SDK)
# face_recognition asks for `dlib`, which has no wheel and compiles for many minutes; dlib-bin is a
# wheel of the same library, so face_recognition goes in without its declared dependencies.
step 4 "installing dlib (the dlib-bin wheel) and face_recognition"
"${PIP[@]}" install -c constraints.txt dlib-bin
"${PIP[@]}" install -c constraints.txt --no-deps face_recognition
step 5 "checking that everything imports"
"$VENV/bin/python" -c 'import face_recognition, photolane_upload.app, photolane_processor.faces, photolane_notifier.handlers'
echo "bootstrap: $VENV is ready" >&2
