# The whole set-up is two commands: `make run` and `make test`. Both create the virtual
# environment on first use; nothing else needs installing by hand.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck unit bench e2e clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/imrf run

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

# The operators' UI in headless Chromium against a real `imrf run` (tests/e2e). Debian's
# Chromium, never a downloaded browser: `playwright install` cannot fetch one here. CI
# machines are fresh and run as root, so the package is installed when it is missing.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@test "$$(id -u)" = 0 || { echo "$(CHROMIUM) is missing: sudo apt-get install chromium"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

e2e: $(STAMP) $(CHROMIUM)
	IMRF_E2E_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/e2e -m e2e

# The production topology on this machine (docs/production.md): PostgreSQL from Debian's
# packages in a cluster of its own (installed when missing, as root), a Prefect server on it
# with an auth string, the deployments on a process work pool and two workers.
.PHONY: up-prod down-prod test-prod
up-prod: $(STAMP)
	$(BIN)/python -m prod up

down-prod: $(STAMP)
	$(BIN)/python -m prod down

# The real flows on that topology, and the faults it must survive (tests/prod, ~8 minutes).
test-prod: $(STAMP)
	$(BIN)/pytest tests/prod -m prod -p no:cacheprovider

clean:
	rm -rf $(VENV) .imrf .pytest_cache .mypy_cache .ruff_cache .hypothesis
