# The two commands of the README: `make run` (set up, then the main job on ./mlops.yaml) and
# `make test` (set up, then the whole suite). Both create and reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := serve,gate,train,load,signing,ray,libyaml,dev

.PHONY: setup run test test-fast test-random test-busy tools azurite lint bench compile clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

# System tools for the real-consumer tests; installed automatically under CI=true.
tools: azurite
	bash scripts/install-tools.sh

# Azurite, the Azure Blob Storage emulator (npm), for tests/functional/test_object_stores.py;
# installed automatically under CI=true. Version and folder: tests/emulators.py.
AZURITE_VERSION := 3.37.0
AZURITE := $(HOME)/.cache/mlops/azurite-$(AZURITE_VERSION)
azurite: $(AZURITE)/node_modules/.bin/azurite-blob

$(AZURITE)/node_modules/.bin/azurite-blob:
	npm install --silent --no-audit --no-fund --prefix $(AZURITE) azurite@$(AZURITE_VERSION)

run: setup
	$(BIN)/mlops release mlops.yaml

test: setup
	@if [ "$$CI" = "true" ]; then bash scripts/install-tools.sh && $(MAKE) -s azurite; fi
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# The whole suite in a random order (pytest-randomly; the default order is fixed). The header
# prints the seed; `make test-random SEED=N` replays that order. Narrow it with PYTEST_ARGS.
test-random: setup
	@if [ "$$CI" = "true" ]; then bash scripts/install-tools.sh && $(MAKE) -s azurite; fi
	$(BIN)/python -m pytest -p randomly $(if $(SEED),--randomly-seed=$(SEED)) $(PYTEST_ARGS)

# The whole suite while scripts/cpu_hog.py keeps every core busy half of each 100 ms (it stops
# with the suite, or after HOG_SECONDS): the suite must not depend on a quiet machine.
HOG_SECONDS ?= 7200
test-busy: setup
	@if [ "$$CI" = "true" ]; then bash scripts/install-tools.sh && $(MAKE) -s azurite; fi
	$(BIN)/python scripts/cpu_hog.py --seconds $(HOG_SECONDS) --duty 0.5 & hog=$$!; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; kill $$hog; exit $$status

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

compile: setup
	$(BIN)/mlops compile mlops.yaml

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .mypy_cache .ruff_cache
