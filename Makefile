# flowops: `make run` (local control plane + operator) and `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test unit integration control-plane bench venv clean-cache lint

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,lint]'
	@touch $(STAMP)

control-plane:
	@hack/control-plane/build.sh >/dev/null

run: venv control-plane
	$(PY) -m flowops.devcluster run

test: lint control-plane
	$(PY) -m pytest tests

unit: venv
	$(PY) -m pytest tests/unit

integration: venv control-plane
	$(PY) -m pytest tests/integration

bench: venv control-plane
	$(PY) -m bench $(BENCH_ARGS)

# Style, types (strict for the pure domain) and the layer contract (pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	PYTHONPATH=operator $(VENV)/bin/lint-imports

clean-cache:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/flowops"
