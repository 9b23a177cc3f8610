# The two commands a newcomer needs: `make run` and `make test`. Both create the virtualenv
# and install the project (with its dev tools) on first use; later runs reinstall only when
# pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test testenv screenshots lint typecheck unit crds format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# `make run` opens the console on the embedded platform (agents, memory and traces on this
# machine; started for the console unless `agentops serve` already runs). `make run ARGS=` opens
# the console on the kubeconfig's cluster; any other ARGS is an agentops command line.
ARGS ?= console --embedded

## run: set up, then start AgentOps
run: $(STAMP)
	$(BIN)/agentops $(ARGS)

## test: set up, then every check and every test (what CI runs)
test: lint typecheck crds testenv unit

## testenv: build kube-apiserver, kube-controller-manager, etcd and helm from Go modules into the
## cache (a no-op when they are there). Without Go a developer run goes on and skips the kube
## tests; in CI (CI=true) Go is required.
testenv: $(STAMP)
	@if command -v go >/dev/null 2>&1; then \
		$(BIN)/agentops testenv --build-only; \
	elif [ "$$CI" = "true" ]; then \
		echo "testenv: Go is required in CI to build the Kubernetes control plane" >&2; exit 1; \
	else \
		echo "testenv: no Go toolchain here: the kube tests will be skipped"; \
	fi

## screenshots: SVG and PNG pictures of the console's main views in screenshots/ (the real app,
## headless, on a real control plane with sample objects; about 25 s once testenv is built)
screenshots: testenv
	$(BIN)/python -m tools.screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

crds: $(STAMP)
	$(BIN)/agentops crds check

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
