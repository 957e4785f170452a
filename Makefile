# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first:
# `make demo` with the base package only (what a server runs, no PySpark, no test tools), `make
# test` adds the dev and spark extras on top. Either order works: each stamp installs what it
# lacks into the same .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.base-stamp
FULL   := $(VENV)/.full-stamp

.PHONY: install setup demo test lint docs bench clean

# The base package: everything `thoth` needs to run, the demo included.
install: $(BASE)
# The developer's environment: the base package plus the test tools and PySpark.
setup: $(FULL)

# Reinstall only when the project's dependencies change.
$(BASE): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(BASE)

$(FULL): $(BASE)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(FULL)

demo: install
	$(BIN)/thoth demo

# The suite runs at a pinned instant (tests/support/clock.py: 18:00 UTC, Melbourne's next day);
# the tests that read "today" (GA4's property dates) run once more on the other side of
# Melbourne's midnight, so neither side of the boundary can break unseen.
test: setup lint
	$(BIN)/python -m pytest
	THOTH_TEST_NOW=2026-12-05T12:30:00Z $(BIN)/python -m pytest \
		tests/pipelines/ga4/test_ga4_extract.py tests/pipelines/ga4/test_ga4_errors.py

# ruff, and the import contract in pyproject.toml: a module importing a layer above it fails.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The docs site: the generated references written again from the code (docs/reference/, the
# run chain), then built into site/ (git-ignored). `make test` checks both: a reference that
# differs from the code, a broken link or a page missing from the nav fails.
docs: setup
	$(BIN)/python -m thoth.reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: setup
	$(BIN)/python bench/ontrack_load.py
	$(BIN)/python bench/hourly_scale.py
	$(BIN)/python bench/kpi_build.py
	$(BIN)/python bench/landing_parse.py
	$(BIN)/python bench/landing_hostile.py
	$(BIN)/python bench/kpi_spark.py

clean:
	rm -rf $(VENV) data site .pytest_cache .ruff_cache
