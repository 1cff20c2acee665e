# The two commands that matter: `make run` (the console, on SQLite + the bundled simulator by default)
# and `make test`. Both create .venv on first use: `make run` installs the app (requirements.txt and the
# `wxwork` command), `make test` also the test tools (requirements-dev.txt). No need to activate .venv.
# PYTHON picks the interpreter that creates .venv (3.11 or newer): `make run PYTHON=python3.12`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WXWORK := $(VENV)/bin/wxwork
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev

.PHONY: run test lint format db simulator monitor bench bench-smoke check-python clean

# One sentence instead of pip's two screens when the interpreter is too old (or missing).
check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "wxwork_demo needs Python 3.11 or newer, and '$(PYTHON)' is not found: choose one with PYTHON=, e.g. make run PYTHON=python3.12" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "wxwork_demo needs Python 3.11 or newer, and '$(PYTHON)' is $$($(PYTHON) -V 2>&1): choose another with PYTHON=, e.g. make run PYTHON=python3.12" >&2; exit 1; }

# The app, editable (code changes apply without reinstalling), with its runtime requirements.
$(INSTALLED): requirements.txt pyproject.toml setup.py
	@$(MAKE) --no-print-directory check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	touch $@

$(DEV_INSTALLED): $(INSTALLED) requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(INSTALLED)
	$(WXWORK) run

test: $(DEV_INSTALLED)
	$(PY) -m pytest

lint: $(DEV_INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(DEV_INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

db: $(INSTALLED)
	$(WXWORK) db upgrade

simulator: $(INSTALLED)
	$(WXWORK) simulator run

monitor: $(INSTALLED)
	$(WXWORK) monitor run

# Benchmarks against the local MariaDB (BENCH_MYSQL_URL, default root@127.0.0.1:3306): bench/RESULTS.md.
# bench-smoke runs everything small (< 3 minutes) and writes bench/RESULTS-smoke.md. The Node baselines
# (bench/node: the old demo and the limit) need node and npm; `npm ci` installs mysql2 from the lock file.
NODE_MODULES := bench/node/node_modules/.package-lock.json

$(NODE_MODULES): bench/node/package.json bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: $(DEV_INSTALLED) $(NODE_MODULES)
	$(PY) -m bench.run
	$(PY) -m bench.forwarding

bench-smoke: $(DEV_INSTALLED) $(NODE_MODULES)
	BENCH_QUICK=1 $(PY) -m bench.run
	BENCH_QUICK=1 $(PY) -m bench.forwarding

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache instance build *.egg-info bench/node/node_modules
