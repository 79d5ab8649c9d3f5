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
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

control-plane:
	@hack/control-plane/build.sh >/dev/null

run: venv control-plane
	$(PY) -m flowops.devcluster run

test: venv control-plane
	$(PY) -m pytest tests

unit: venv
	$(PY) -m pytest tests/unit

integration: venv control-plane
	$(PY) -m pytest tests/integration

bench: venv control-plane
	$(PY) -m bench $(BENCH_ARGS)

clean-cache:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/flowops"
