# photolane — `make help` lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.photolane-installed
TEST_STAMP := $(VENV)/.photolane-test-deps
INSTALL_INPUTS := constraints.txt pyproject.toml libs/common/pyproject.toml \
	$(wildcard services/*/pyproject.toml) scripts/bootstrap-venv.sh

.PHONY: help install run test test-unit test-integration test-e2e test-browser test-containers images engine lint bench bench-image lock clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install photolane with everything it needs

$(STAMP): $(INSTALL_INPUTS)
	VENV=$(VENV) scripts/bootstrap-venv.sh
	@touch $@

# chromium, chromedriver and memcached from Debian's packages (the browser and cache tests).
$(TEST_STAMP): $(STAMP) scripts/test-deps.sh
	scripts/test-deps.sh
	@touch $@

run: $(STAMP) ## Run photolane on this machine (embedded AWS stand-in, no Docker); Ctrl-C stops it
	$(PY) -m photolane.local

test: $(TEST_STAMP) ## Run the tests: lint, unit, integration (moto server), end to end, browser (containers: make test-containers)
	$(VENV)/bin/ruff check libs services src tests
	$(PY) -m pytest

test-unit: $(STAMP) ## Run the unit tests only (no AWS stand-in)
	$(PY) -m pytest -m "not e2e" $$(find . -path ./.venv -prune -o -type d -name unit -print)

test-integration: $(TEST_STAMP) ## Run the integration tests (real moto server over HTTP)
	$(PY) -m pytest -m "not e2e" $$(find . -path ./.venv -prune -o -type d -name integration -print) libs/common/tests

test-e2e: $(TEST_STAMP) ## Run the end-to-end tests (the three services as processes)
	$(PY) -m pytest tests/e2e

test-browser: $(TEST_STAMP) ## Run the browser tests (headless chromium against the services as processes)
	$(PY) -m pytest tests/browser

bench: $(STAMP) ## Measure the processor stage by stage against the naive pipeline (venv); writes BENCHMARKS.md
	$(PY) -m photolane_processor.bench --faces tests/fixtures/faces --section venv --command "make bench" \
		--title "In the venv: dlib from the dlib-bin wheel"

bench-image: $(STAMP) ## The same benchmark inside the processor image (AVX2 dlib, and dlib's default build)
	scripts/bench-image.sh

engine: $(STAMP) ## Bring up a Docker engine here when none answers (Debian docker.io, Compose v2)
	scripts/docker-engine.sh

images: $(STAMP) ## Build the images (stand-in, upload, notifier, processor) with the Debian-built base when needed
	scripts/build-images.sh

test-containers: images ## Run the container tests: the built images under docker compose (testcontainers)
	$(PY) -m pytest -m containers tests/containers

lint: $(STAMP) ## Check the code with ruff
	$(VENV)/bin/ruff check libs services src tests

lock: $(STAMP) ## Re-pin constraints.txt from the installed venv
	@{ echo "# Pinned versions of everything photolane installs (pip install -c constraints.txt)."; \
	   echo "# Refresh: make lock (freezes a fresh venv)."; \
	   $(PY) -m pip freeze --exclude-editable | grep -viE '^(photolane|-e )'; } > constraints.txt

clean: ## Remove the venv and the embedded run's data
	rm -rf $(VENV) .photolane .pytest_cache
