# paperwire: `make run` runs the bot, `make test` runs every check. Both set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench setup clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "paperwire needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

setup: $(STAMP)

## The bot on the embedded default (SQLite file paperwire.db; console output without chat tokens).
run: $(STAMP)
	$(BIN)/paperwire db upgrade
	$(BIN)/paperwire run

## Lint, types, import contracts, then the whole test suite (pytest's summary line comes last).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto

## The benchmarks (not part of the tests): they print figures.
bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/summary.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/lookup.py
	$(BIN)/python bench/e2e.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
