# Everything runs from a local virtual environment built from requirements.lock.
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup run test lint clean

setup: $(VENV)/.installed $(VENV)/.compiled

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# numba's cache of the exact engine's solver (snakelight/searchlight/engines/__pycache__/),
# built once here rather than by the first searchlight.
$(VENV)/.compiled: $(VENV)/.installed snakelight/searchlight/engines/_tron.py
	$(BIN)/python -m snakelight.searchlight.engines.compile
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/default/report.html

test: setup
	$(BIN)/python -m pytest

# Formatting and lint, as .ci/run checks them (settings in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check workflow

clean:
	rm -rf results .snakemake
