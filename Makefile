# The two commands that matter: `make run` (the console, on SQLite + the bundled simulator by default)
# and `make test`. Both create .venv and install requirements.txt on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi

.PHONY: run test lint format db simulator monitor bench bench-smoke clean

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m wxwork_demo.serve

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

db: $(VENV)/.installed
	$(FLASK) db upgrade

simulator: $(VENV)/.installed
	$(PY) -m wxwork_demo.simulator --port 9952

monitor: $(VENV)/.installed
	$(FLASK) monitor run

# Benchmarks against the local MariaDB (BENCH_MYSQL_URL, default root@127.0.0.1:3306): bench/RESULTS.md.
# bench-smoke runs everything small (< 2 minutes) and writes bench/RESULTS-smoke.md.
bench: $(VENV)/.installed
	$(PY) -m bench.run
	$(PY) -m bench.forwarding

bench-smoke: $(VENV)/.installed
	BENCH_QUICK=1 $(PY) -m bench.run
	BENCH_QUICK=1 $(PY) -m bench.forwarding

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache instance
