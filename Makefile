# Two commands do everything: `make lab` and `make test`. Both set up .venv first (idempotent).
SHELL := /bin/bash
# PYTHON: the interpreter the venv is made from; Python 3.11, 3.12 and 3.13 are supported. Default: the
# first of python3, python3.13, python3.12, python3.11 on PATH that is 3.11 or newer.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3 python3.13 python3.12 python3.11; do command -v $$p >/dev/null 2>&1 \
  && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
endif
# VENV: one venv per folder. A PYTHON= of another version than the existing venv's recreates it; to keep
# one venv per version, name it: make unit PYTHON=python3.13 VENV=.venv-3.13
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# classroom JupyterLab defaults (no news pop-up, no update check), installed into the venv
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d/lmmcourse.json
# make lab serves this folder; the browser tests point it at a temporary copy of the course
LAB_ROOT ?= $(CURDIR)
_PYVER := import sys; print(*sys.version_info[:2], sep=".")
# nbgrader shells out to alembic, jupyter to its sub-commands: the venv's bin/ must come first on PATH
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
PYTEST_ARGS ?=

.PHONY: setup lab test unit nbval check-sync build data bench autograde-demo grade hub-tools student-bundle lint clean browser-deps

setup:
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11 or newer found (tried python3, python3.13, python3.12, python3.11): install Python 3.11-3.13, or run make PYTHON=/path/to/python3" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else f"make: Python 3.11 or newer is required, $(PYTHON) is {sys.version.split()[0]}: install Python 3.11-3.13, or run make PYTHON=/path/to/python3.12")'
	@if [ -x $(BIN)/python ]; then \
	  have=$$($(BIN)/python -c '$(_PYVER)' 2>/dev/null || echo broken); want=$$($(PYTHON) -c '$(_PYVER)'); \
	  if [ "$$have" != "$$want" ] && { [ "$(origin PYTHON)" != file ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }; then \
	    echo "make: $(VENV) holds Python $$have; recreating it with Python $$want ($(PYTHON)). To keep both, pass VENV=.venv-$$want"; \
	    rm -rf $(VENV); \
	  fi; \
	fi
	@$(MAKE) --no-print-directory --silent $(STAMP) PYTHON='$(PYTHON)'

$(STAMP): pyproject.toml lmmcourse/jupyterlab_overrides.json
	@echo "make: installing the course and its pinned packages into $(VENV) (first time: a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@install -D -m 644 lmmcourse/jupyterlab_overrides.json $(LAB_OVERRIDES)
	@touch $(STAMP)

lab: setup
	@ARGS="--ServerApp.root_dir=$(LAB_ROOT) --LabApp.default_url=/lab/tree/notebooks/section1_linear_mixed_model.ipynb"; \
	if [ "$$(id -u)" = "0" ]; then ARGS="$$ARGS --allow-root"; fi; \
	if [ -z "$$DISPLAY" ] && [ "$$(uname)" != "Darwin" ]; then ARGS="$$ARGS --no-browser"; fi; \
	$(BIN)/jupyter lab $$ARGS $(LAB_ARGS)

# axe-core (npm, pinned in tests/browser/package.json) for the accessibility browser test, into the
# git-ignored tests/browser/node_modules/; the browser tests also need /usr/bin/chromium (apt)
browser-deps:
	npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts

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

# configurable-http-proxy (npm) for the JupyterHub test (tests/hub), into the git-ignored venv folder
CHP := $(VENV)/node/node_modules/.bin/configurable-http-proxy
hub-tools: setup
	@test -x $(CHP) || { command -v npm >/dev/null || { echo "make hub-tools: npm not found: apt-get install -y nodejs npm" >&2; exit 1; }; \
	  mkdir -p $(VENV)/node && npm install --prefix $(VENV)/node --no-audit --no-fund --silent configurable-http-proxy@5.3.0; }

# autograde every submitted/*/$(ASSIGNMENT)/ in parallel (JOBS workers; default: the machine's cores);
# GRADE_ARGS e.g. --force, --scheduler tcp://host:8786, --timeout 600 (see lmminstructor/grade.py)
grade: setup
	@test -n "$(ASSIGNMENT)" || { echo "make grade: say which assignment, e.g. make grade ASSIGNMENT=section1 [JOBS=4]" >&2; exit 2; }
	$(BIN)/python -m lmminstructor.grade $(ASSIGNMENT) $(if $(JOBS),--jobs $(JOBS)) $(GRADE_ARGS)

student-bundle: setup
	$(BIN)/python -m lmminstructor.bundle

clean:
	rm -rf build autograde-demo student-bundle artifacts .pytest_cache
