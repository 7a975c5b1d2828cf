# Everything runs from a local virtual environment built from requirements.lock.
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup run test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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
