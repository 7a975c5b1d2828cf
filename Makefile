# Everything runs from a local virtual environment built from requirements.lock.
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup run test lint docs clean

setup: $(VENV)/.installed $(VENV)/.compiled

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# numba's cache of the exact engine's solvers, the fast engine's svc and lda
# (snakelight/searchlight/engines/__pycache__/) and the RSA kernels
# (snakelight/rsa/__pycache__/), built once here rather than by the first searchlight.
$(VENV)/.compiled: $(VENV)/.installed snakelight/searchlight/engines/_tron.py snakelight/searchlight/engines/_dual.py \
		snakelight/searchlight/engines/_newton.py snakelight/searchlight/engines/_lda.py \
		snakelight/rsa/distances.py snakelight/rsa/models.py
	$(BIN)/python -m snakelight.searchlight.engines.compile
	$(BIN)/python -m snakelight.rsa.compile
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/default/report.html

# The docs are built first: tests/test_docs.py opens the built site in a browser. One
# worker per core, each taking whole test files (their module fixtures are built once).
test: setup docs
	$(BIN)/python -m pytest -n auto --dist loadfile

# The documentation site (docs/), warnings as errors, into docs/_build/html; its packages
# from requirements-docs.lock. SNAKELIGHT_DOCS_QUICK=1 runs the gallery's examples small.
$(VENV)/.docs-installed: $(VENV)/.installed requirements-docs.lock
	$(BIN)/pip install --quiet --no-deps -r requirements-docs.lock
	touch $@

docs: setup $(VENV)/.docs-installed
	$(BIN)/sphinx-build -W --keep-going -q -b html -d docs/_build/doctrees docs docs/_build/html

# Formatting and lint, as .ci/run checks them (settings in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake docs/_build docs/_generated docs/auto_examples
