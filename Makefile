# photolane — `make help` lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.photolane-installed
TEST_STAMP := $(VENV)/.photolane-test-deps
INSTALL_INPUTS := constraints.txt pyproject.toml libs/common/pyproject.toml \
	$(wildcard services/*/pyproject.toml) deploy/pyproject.toml scripts/bootstrap-venv.sh

.PHONY: bench-sideways help install run run-fresh reset logs test test-unit test-integration test-e2e test-browser chaos test-containers images engine lint \
	bench bench-upload bench-people bench-naming bench-image lock clean push synth deploy diff destroy

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

run: $(STAMP) ## Run photolane on this machine (embedded AWS stand-in, no Docker); Ctrl-C stops it, the data is kept
	$(PY) -m photolane.local

run-fresh: $(STAMP) ## Like run, but starting empty: the data kept by earlier runs (records, images, outbox) is discarded
	PHOTOLANE_FRESH=1 $(PY) -m photolane.local

logs: ## Follow the services' JSON logs of make run (.photolane/logs/<service>.log; Ctrl-C stops following)
	@dir="$${PHOTOLANE_RUN_DIR:-.photolane}/logs"; mkdir -p "$$dir"; \
		echo "following $$dir/*.log (the JSON lines of every service; make run's console has the gist)" >&2; \
		tail -n 20 -F "$$dir"/upload.log "$$dir"/processor-1.log "$$dir"/notifier.log $$(ls "$$dir"/*.log 2>/dev/null | \
		grep -vE '/(upload|processor-1|notifier)\.log$$')

reset: ## Delete the run folder (.photolane): kept data, outbox, logs, admin token and session key
	rm -rf "$${PHOTOLANE_RUN_DIR:-.photolane}"

test: $(TEST_STAMP) ## Run the tests: lint, unit, integration (moto server), end to end, browser (containers: make test-containers)
	$(VENV)/bin/ruff check libs services src tests deploy bench
	$(PY) -m pytest

test-unit: $(STAMP) ## Run the unit tests only (no AWS stand-in)
	$(PY) -m pytest -m "not e2e" $$(find . -path ./.venv -prune -o -type d -name unit -print)

test-integration: $(TEST_STAMP) ## Run the integration tests (real moto server over HTTP)
	$(PY) -m pytest -m "not e2e" $$(find . -path ./.venv -prune -o -type d -name integration -print) libs/common/tests

test-e2e: $(TEST_STAMP) ## Run the end-to-end tests (the three services as processes)
	$(PY) -m pytest tests/e2e deploy/tests/grants

test-browser: $(TEST_STAMP) ## Run the browser tests (headless chromium against the services as processes)
	$(PY) -m pytest tests/browser deploy/tests/grants

chaos: $(TEST_STAMP) ## Chaos: 100 photos through the running stack while kill -9 hits the workers; prints what arrived
	PHOTOLANE_CHAOS_PHOTOS=$${PHOTOLANE_CHAOS_PHOTOS:-100} $(PY) -m pytest -s -q tests/e2e/test_chaos.py

bench: $(STAMP) ## Measure the processor stage by stage against the naive pipeline (venv); writes BENCHMARKS.md
	$(PY) -m photolane_processor.bench --faces tests/fixtures/faces --section venv --command "make bench" \
		--title "In the venv: dlib from the dlib-bin wheel"

bench-upload: $(STAMP) ## Measure the upload check stage by stage against the old open+verify, and the sign-in answer (venv); writes BENCHMARKS.md
	$(PY) -m photolane_upload.bench --faces tests/fixtures/faces --section upload --command "make bench-upload"

N ?= 1000000
bench-people: $(STAMP) ## The people registry at scale (N= people, default 1,000,000; ~25 min): writes BENCHMARKS.md
	$(PY) bench/people/measure.py --people $(N) --command "make bench-people N=$(N)"

bench-naming: $(STAMP) ## Naming on real faces of many people, old policy against new, 10 to 10,000 enrolled: writes BENCHMARKS.md
	$(PY) bench/naming/measure.py --command "make bench-naming"

bench-sideways: $(STAMP) ## What a look at the quarter turns of a photo with no face upright costs, against the upright detection: writes BENCHMARKS.md
	$(PY) bench/sideways/measure.py --command "make bench-sideways"

bench-image: $(STAMP) ## The same benchmark inside the processor image (AVX2 dlib, and dlib's default build)
	scripts/bench-image.sh

engine: $(STAMP) ## Bring up a Docker engine here when none answers (Debian docker.io, Compose v2)
	scripts/docker-engine.sh

images: $(STAMP) ## Build the images (stand-in, upload, notifier, processor) with the Debian-built base when needed
	scripts/build-images.sh

test-containers: images ## Run the container tests: the built images under docker compose (testcontainers)
	$(PY) -m pytest -m containers tests/containers

lint: $(STAMP) ## Check the code with ruff
	$(VENV)/bin/ruff check libs services src tests deploy bench

# -- AWS (deploy/README.md) ------------------------------------------------------------------------
TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
CDK := deploy/node_modules/.bin/cdk
# The venv's python by its own path (a resolved symlink would leave the venv); context for the app.
CDK_RUN = cd deploy && CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 \
	node_modules/.bin/cdk --app "$(abspath $(PY)) app.py" --no-notices -c tag=$(TAG) $(if $(REGISTRY),-c registry=$(REGISTRY)) $(CONTEXT)

$(CDK): deploy/package.json deploy/package-lock.json
	cd deploy && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

push: $(STAMP) ## Build the three images, tag them with the git commit, push to ECR (REGISTRY=host:port: any registry)
	@git diff --quiet HEAD 2>/dev/null || echo "push: uncommitted changes go into images tagged $(TAG)" >&2
	IMAGES="upload processor notifier" TAG=$(TAG) LATEST=0 scripts/build-images.sh
	$(PY) -m photolane_deploy.push --tag $(TAG) $(if $(REGISTRY),--registry $(REGISTRY))

synth: $(STAMP) ## Write the CloudFormation template to deploy/cdk.out (offline: no AWS account, no cdk CLI)
	$(PY) deploy/app.py

deploy: $(STAMP) $(CDK) ## Deploy to AWS the images make push pushed (this commit's tag); prints the URL
	$(if $(REGISTRY),,$(PY) -m photolane_deploy.push --tag $(TAG) --check)
	$(CDK_RUN) bootstrap
	$(CDK_RUN) deploy --all --require-approval $(or $(APPROVAL),broadening) --outputs-file cdk.out/outputs.json
	$(PY) -m photolane_deploy.outputs deploy/cdk.out/outputs.json

diff: $(STAMP) $(CDK) ## Show what make deploy would change in the deployed stack
	$(CDK_RUN) diff --all

destroy: $(STAMP) $(CDK) ## Delete the stack (the bucket and tables are retained: deploy/README.md)
	$(CDK_RUN) destroy --all

lock: $(STAMP) ## Re-pin constraints.txt from the installed venv
	@{ echo "# Pinned versions of everything photolane installs (pip install -c constraints.txt)."; \
	   echo "# Refresh: make lock (freezes a fresh venv)."; \
	   $(PY) -m pip freeze --exclude-editable | grep -viE '^(photolane|-e )'; } > constraints.txt

clean: ## Remove the venv and the embedded run's data
	rm -rf $(VENV) .photolane .pytest_cache
