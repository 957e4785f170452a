# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

demo: setup
	$(BIN)/thoth demo

test: setup lint
	$(BIN)/python -m pytest

# ruff, and the import contract in pyproject.toml: a module importing a layer above it fails.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/ontrack_load.py
	$(BIN)/python bench/hourly_scale.py
	$(BIN)/python bench/kpi_build.py
	$(BIN)/python bench/landing_parse.py
	$(BIN)/python bench/landing_hostile.py
	$(BIN)/python bench/kpi_spark.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
