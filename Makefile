# City Vibes: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: install demo test lint bench services browser clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Start the app with demo data: SQLite + filesystem broker unless DATABASE_URL / CELERY_BROKER_URL are set.
demo: install
	VENV=$(VENV) scripts/demo.sh

## Install everything from scratch, start Postgres/Redis if needed, then lint + the whole test suite.
test: install services browser
	VENV=$(VENV) scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .

## Benchmarks; each prints a table (also written to bench/results/).
bench: install services
	VENV=$(VENV) scripts/bench.sh

services:
	scripts/ensure_services.sh

browser:
	scripts/ensure_browser.sh
	scripts/ensure_axe.sh

clean:
	rm -rf $(VENV) var media db.sqlite3 staticfiles .pytest_cache .ruff_cache
