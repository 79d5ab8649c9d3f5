# flowops: `make run` (local control plane + operator) and `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test unit integration control-plane kstatus flux bench venv clean-cache lint argocd format

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,lint]'
	@touch $(STAMP)

control-plane:
	@hack/control-plane/build.sh >/dev/null

# The kstatus library (what Flux health checks read) the health tests ask; cached like the control plane.
kstatus:
	@hack/kstatus/build.sh >/dev/null

# Flux source-controller and kustomize-controller for the GitOps tests (cached like the
# control plane; the first build takes about 14 minutes on 2 cores).
flux:
	@hack/flux/build.sh >/dev/null

run: venv control-plane
	$(PY) -m flowops.devcluster run

test: lint control-plane kstatus flux
	$(PY) -m pytest tests

# Selected by marker: tests/integration/conftest.py marks every test that needs the control plane.
# (Each also names its directory: collecting the integration modules costs a unit run ~0.6 s.)
unit: venv
	$(PY) -m pytest tests/unit -m "not integration" -q

integration: venv control-plane kstatus flux
	$(PY) -m pytest tests/integration -m integration

# The Argo CD health checks in both forms Argo CD reads, from manifests/argocd/health/*.lua.
argocd: venv
	$(PY) hack/argocd/render.py

bench: venv control-plane
	$(PY) -m bench $(BENCH_ARGS)

# Lint and format, types (strict for the pure domain) and the layer contract (pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	PYTHONPATH=operator $(VENV)/bin/lint-imports

clean-cache:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/flowops"

# Apply the formatter and the safe lint fixes that `make lint` checks for.
format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
