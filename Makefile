# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONHASHSEED := 0

.PHONY: install demo test lint typecheck pytest dev bench clean system-deps

# Debian's Chromium: image export (kaleido) and the dashboard's browser tests. Never downloaded
# by a tool; installed with apt-get when missing (as root, as on CI).
system-deps:
	@command -v chromium >/dev/null || { [ "$$(id -u)" != 0 ] && echo "warning: chromium is missing and installing it needs root (apt-get install chromium): the dashboard is built without chart images, and its browser tests fail" >&2; } || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# --compile-bytecode and compileall: an installed checkout starts from compiled modules, even
# where Python may not write its cache (PYTHONDONTWRITEBYTECODE): compiling the packages anew
# took ~7 s of each demo, and the project's own (an editable install) ~0.4 s of each process.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	$(BIN)/python -m compileall -q src pipelines
	touch $(STAMP)

install: $(STAMP) system-deps

demo: install .dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/python -m pipelines.demo

lint: install
	$(BIN)/ruff check src pipelines tests benchmarks
	$(BIN)/ruff format --check src pipelines tests benchmarks

typecheck: install
	$(BIN)/mypy

# Whole modules to each worker (--dist loadfile): a module's fixtures are built once; the
# order (tests/conftest.py) puts the modules that need the shared demo run last.
# PYTHONDONTWRITEBYTECODE emptied: pytest keeps its assertion-rewritten test modules from one run
# to the next (rewriting them cost each worker ~3 s of CPU per run), and Python the project's
# modules changed since the install compiled them.
pytest: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -q

# mypy checks on one core (about 40 s from a cold cache) beside pytest's two workers, not before them.
test: lint
	$(MAKE) --no-print-directory -j 2 typecheck pytest

dev: install .dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster exec $(BIN)/python -m pipelines.dev -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

# The embedded instance: SQLite run, event and schedule storage in .dagster/.
.dagster/dagster.yaml: deploy/local/dagster.yaml
	mkdir -p .dagster
	cp $< $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
