# Two commands on a fresh machine: `make preview STACK=dev` and `make test`. Each sets itself up on first use.
PYTHON ?= python3
VENV   ?= .venv
STACK  ?= dev
PY     := $(VENV)/bin/python

.PHONY: setup system preview preview-all lint test test-unit bench clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

setup: $(VENV)/.installed

system:
	./scripts/setup-system.sh

preview: setup
	$(PY) -m offline.preview $(STACK)

preview-all: setup
	@for s in $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p'); do $(PY) -m offline.preview $$s --quiet || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: setup system lint
	$(PY) -m pytest

# The unit suite: what `make test` runs, less the tests marked integration (real services, heavy processes).
test-unit: setup
	$(PY) -m pytest -m "not integration"

bench: setup
	$(PY) -m offline.bench

clean:
	rm -rf build .pytest_cache
