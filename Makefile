# Two commands do everything: `make lab` and `make test`. Both set up .venv first (idempotent).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# nbgrader shells out to alembic, jupyter to its sub-commands: the venv's bin/ must come first on PATH
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
PYTEST_ARGS ?=

.PHONY: setup lab test unit nbval check-sync build data bench autograde-demo student-bundle lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}: install it, or run make PYTHON=/path/to/python3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

lab: setup
	@ARGS="--ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/section1_linear_mixed_model.ipynb"; \
	if [ "$$(id -u)" = "0" ]; then ARGS="$$ARGS --allow-root"; fi; \
	if [ -z "$$DISPLAY" ] && [ "$$(uname)" != "Darwin" ]; then ARGS="$$ARGS --no-browser"; fi; \
	$(BIN)/jupyter lab $$ARGS $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check lmmcourse lmminstructor tests benchmarks

# every test: ruff, unit tests, nbval on the runnable notebooks, the sync check
test: setup lint check-sync
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/ solutions/ $(PYTEST_ARGS)

unit: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

nbval: setup
	$(BIN)/python -m pytest --nbval-lax notebooks/ solutions/

build: setup
	$(BIN)/python -m lmminstructor.build

check-sync: setup
	$(BIN)/python -m lmminstructor.build --check

data: setup
	$(BIN)/python -m lmmcourse.data

bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH)

autograde-demo: setup
	$(BIN)/python -m lmminstructor.autograde_demo

student-bundle: setup
	$(BIN)/python -m lmminstructor.bundle

clean:
	rm -rf build autograde-demo student-bundle artifacts .pytest_cache
