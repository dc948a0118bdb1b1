#!/usr/bin/env bash
# What the tests need beyond the venv, from Debian's packages (never a browser or driver download):
#   chromium + chromium-driver  the browser tests (tests/browser): headless chromium through Selenium,
#                               with the chromedriver built from the same source, so versions match
#   memcached                   the gallery cache tests against a real memcached
# Idempotent; used by `make test` (and the test-* targets) through a stamp in the venv.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v memcached >/dev/null || [ -x /usr/bin/memcached ] || missing+=(memcached)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test-deps: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A package upgraded on one side only would break the browser tests: say so plainly.
browser=$(/usr/bin/chromium --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+){3}' | head -1)
driver=$(/usr/bin/chromedriver --version | grep -oE '[0-9]+(\.[0-9]+){3}' | head -1)
if [ "$browser" != "$driver" ]; then
  echo "test-deps: chromium $browser and chromedriver $driver differ: apt-get install chromium chromium-driver" >&2
  exit 1
fi
echo "test-deps: chromium $browser, chromedriver $driver, $(memcached -V 2>/dev/null || echo memcached)" >&2
