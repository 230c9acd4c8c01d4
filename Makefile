# Two commands on a fresh machine: `make preview STACK=dev` and `make test`. Each sets itself up on first use.
PYTHON ?= python3
VENV   ?= .venv
STACK  ?= dev
PY     := $(VENV)/bin/python
CHECKOV_VENV ?= .venv-checkov
STORAGE_VENV ?= .venv-storage

.PHONY: setup system preview preview-all lint test test-unit test-e2e bench bench-serving finops clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $@

# KServe's storage code, which the node model cache's prefetcher runs: its pins (protobuf, huggingface-hub) would
# move the platform's, so it lives apart, for tests/integration/test_model_cache_prefetch.py.
$(STORAGE_VENV)/.installed: requirements-storage.txt
	test -x $(STORAGE_VENV)/bin/python || $(PYTHON) -m venv $(STORAGE_VENV)
	$(STORAGE_VENV)/bin/python -m pip install -q -r requirements-storage.txt
	touch $@

VENVS := $(VENV)/.installed $(CHECKOV_VENV)/.installed $(STORAGE_VENV)/.installed

# The three environments install side by side: each mostly waits on downloads and unpacking.
setup:
	@$(MAKE) --no-print-directory -j3 $(VENVS)

system:
	./scripts/setup-system.sh

preview: $(VENV)/.installed
	$(PY) -m offline.preview $(STACK)

preview-all: $(VENV)/.installed
	@for s in $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p'); do $(PY) -m offline.preview $$s --quiet || exit 1; done

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The whole suite. The model-delivery end-to-end run (minutes, mostly spent waiting on its compressed release timers)
# runs beside the rest, which is niced so that the run's own servers get the CPU first and its latency verdicts see
# the machine they would see alone; its output follows the rest's, and either failing fails the target.
test: setup system lint
	@mkdir -p build
	@$(PY) -m pytest -m e2e -p no:cacheprovider > build/test-e2e.log 2>&1 & e2e=$$!; \
	nice -n 10 $(PY) -m pytest -m "not e2e"; rest=$$?; \
	wait $$e2e; e2e_status=$$?; \
	echo "--- the model-delivery end-to-end run (build/test-e2e.log) ---"; cat build/test-e2e.log; \
	test $$rest -eq 0 -a $$e2e_status -eq 0

# The model-delivery end-to-end run alone: real MLflow, MLServer, Prometheus and the release controller on loopback.
test-e2e: setup system
	$(PY) -m pytest -m e2e

# The unit suite: what `make test` runs, less the tests marked integration (real services, heavy processes).
test-unit: $(VENV)/.installed
	$(PY) -m pytest -m "not integration"

bench: $(VENV)/.installed
	$(PY) -m offline.bench

# Measures CPU serving with MLServer on this machine and writes build/finops/report.md with its charts; --publish
# also refreshes the committed edition (docs/finops.md, docs/finops/*.png).
finops: $(VENV)/.installed
	$(PY) -m finops --out build/finops --publish

# Cold start with and without the node cache, latency and memory with and without the concurrency cap, and the
# warm-up gate, on real MLflow, S3 API (moto) and MLServer processes on loopback; prints JSON (several minutes).
bench-serving: $(VENV)/.installed
	$(PY) -m bench.serving

clean:
	rm -rf build .pytest_cache
