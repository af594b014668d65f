# `make run` serves the app on SQLite with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup setup-test migrate demo lint fuzz bench sample-report clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

migrate: setup
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) outreach demo

# `make run PORT=8000`; on the network with HTTPS (a phone): `make run HOST=0.0.0.0 CERT=x.pem KEY=x-key.pem`
run: demo
	$(FLASK) run --host $(HOST) --port $(PORT) $(if $(CERT),--cert $(CERT) --key $(KEY))

# Tests run in parallel (one database per worker); the few marked `serial` (they restart
# the database server) run alone afterwards.
WORKERS ?= 2

test: setup-test
	$(BIN)/ruff check outreach tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n $(WORKERS) -m "not serial" $(PYTEST_ARGS)
	$(BIN)/pytest -m serial $(PYTEST_ARGS)

# Lint and types: ruff (rules in pyproject.toml) and mypy on outreach/ (strictness stated
# in pyproject.toml: every function body checked, no implicit Optional).
lint: setup-test
	$(BIN)/ruff check outreach tests bench
	$(BIN)/ruff format --check outreach tests bench
	$(BIN)/mypy

fuzz: setup-test
	$(BIN)/pytest tests/fuzz -m fuzz --fuzz-examples=2000 $(PYTEST_ARGS)

bench: setup-test
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/caseload_bench.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/pathways_bench.py

sample-report: demo
	$(FLASK) outreach reports preview --out sample-report.pdf
	pdftoppm -png -r 60 -f 1 -l 1 sample-report.pdf sample-report

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache
