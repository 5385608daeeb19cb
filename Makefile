# Two commands matter: `make demo` and `make test`. Each does its own set-up and is safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test setup tools lint typecheck pytest bench bench-quick chaos devstack-up devstack-down clean ui test-distributed

demo: setup
	$(PY) -m cio_devkit.demo $(DEMO_ARGS)

test: setup lint typecheck pytest test-distributed

setup: tools $(STAMP) $(NODE_STAMP)

tools:
	@PYTHON=$(PYTHON) ./scripts/check_tools.sh

$(STAMP): pyproject.toml devkit/pyproject.toml constraints-3.11.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	$(UV) pip install --quiet --python $(PY) -c constraints-3.11.txt -e ".[dev]" -e ./devkit
	@touch $@

$(NODE_STAMP): package.json
	npm install --no-package-lock --no-audit --no-fund --loglevel=error
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench.run

bench-quick: setup
	$(PY) -m bench.run --quick

# The reference pipeline under the CeleryExecutor (Redis, PostgreSQL, two workers); see docs/distributed.md.
test-distributed: setup
	./scripts/test_distributed.sh

# Fault injection on the devstack, full form (bigger data, more rounds, the whole demo flow scanned for leaks);
# `make test` runs the fast form of the same tests. See docs/reliability.md.
chaos: setup
	CIO_CHAOS=full $(VENV)/bin/pytest tests/reliability tests/security $(PYTEST_ARGS)

# Airflow's UI (scheduler, triggerer, api-server) on the reference DAGs and the devstack, until Ctrl-C.
ui: setup
	$(PY) -m cio_devkit.standalone $(UI_ARGS)

devstack-up: setup
	$(PY) -m cio_devkit.devstack up

devstack-down:
	@test -x $(PY) && $(PY) -m cio_devkit.devstack down || true

clean: devstack-down
	rm -rf $(VENV) node_modules .devstack
