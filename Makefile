# Developer entry points. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
UVICORN_ARGS ?=
PYTEST_ARGS ?=
APT_PACKAGES := chromium xmlsec1

# Installs are stamped with a hash of the requirement files, so a re-run with unchanged pins is instant.
RUN_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-16)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
RUN_STAMP := $(VENV)/.stamp-run-$(RUN_HASH)
DEV_STAMP := $(VENV)/.stamp-dev-$(DEV_HASH)

# `make run`: the embedded default (SQLite in var/, in-process cache and counters, eager Celery).
EMBEDDED_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL \
	DJANGO_SETTINGS_MODULE=requesty.settings REQUESTY_EMBEDDED=true DEBUG=true SITE_URL=http://$(HOST):$(PORT)
# Checks in `make test` read the test settings (PostgreSQL and Redis from scripts/ensure_services.sh).
TEST_ENV := env DJANGO_SETTINGS_MODULE=tests.settings

.PHONY: help venv deps dev-deps system-deps run test test-steps lint format check-django pytest bench worker pins

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Python 3.11 is required (found $$($(PYTHON) --version 2>&1)); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): | $(PY)
	$(PY) -m pip install -r requirements.txt
	@rm -f $(VENV)/.stamp-run-* && touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	@rm -f $(VENV)/.stamp-run-* $(VENV)/.stamp-dev-* && touch $(RUN_STAMP) $@

venv: $(PY) ## Create .venv (Python 3.11) if it is missing

deps: $(RUN_STAMP) ## Install the runtime pins (requirements.txt) into .venv

dev-deps: $(DEV_STAMP) ## Install the runtime and test pins (requirements-dev.txt) into .venv

system-deps: ## Install Debian's chromium and xmlsec1 if missing (needs root)
	@scripts/ensure_apt.sh $(APT_PACKAGES)

run: deps ## Migrate, seed the demo org and serve on http://127.0.0.1:8000 (SQLite, no Redis)
	@mkdir -p var
	$(EMBEDDED_ENV) $(PY) manage.py migrate --noinput
	$(EMBEDDED_ENV) $(PY) manage.py catalog_sync
	$(EMBEDDED_ENV) $(PY) manage.py seed_demo
	@fast=""; if $(PY) -c 'import uvloop, httptools' 2>/dev/null; then fast="--loop uvloop --http httptools"; fi; \
		set -x; exec $(EMBEDDED_ENV) $(BIN)/uvicorn requesty.asgi:application --host $(HOST) --port $(PORT) --lifespan on $$fast $(UVICORN_ARGS)

test: dev-deps system-deps ## Lint, Django checks and pytest -n 2 against PostgreSQL and Redis
	@scripts/ensure_services.sh $(MAKE) --no-print-directory test-steps

# Expects DATABASE_URL and REDIS_URL in the environment: call it through `make test`.
test-steps: lint check-django pytest

lint: dev-deps ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev-deps ## Rewrite the tree with ruff (fixable lint and formatting)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-django: dev-deps
	$(TEST_ENV) $(PY) manage.py check
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

pytest: dev-deps
	@mkdir -p staticfiles  # WhiteNoise warns on every request when STATIC_ROOT is missing
	$(TEST_ENV) $(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: dev-deps ## Gateway overhead over a direct provider call: sequential p50 and RPS under load (wrk)
	@command -v wrk >/dev/null || scripts/ensure_apt.sh wrk
	scripts/ensure_services.sh $(PY) bench/run.py

worker: deps ## Celery worker with embedded beat, against Redis (REDIS_URL, default redis://127.0.0.1:6379/0)
	@mkdir -p var
	env REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-true} \
		$(BIN)/celery -A requesty worker --beat --loglevel INFO --schedule var/celerybeat-schedule

pins: dev-deps ## Regenerate requirements*.txt from what .venv has installed
	$(PY) scripts/pin_requirements.py
