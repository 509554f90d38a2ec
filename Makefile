# Kairos: `make run` starts the all-in-one shape; `make test` runs every suite. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
UV_VERSION := 0.13.9
export UV_PYTHON := $(PYTHON)

PYTHON_SOURCES := src tests $(wildcard benchmarks) web/scripts
WEB_INSTALLED := web/node_modules/.package-lock.stamp

.PHONY: help setup test-setup web web-test run run-distributed test lint typecheck importlint unit integration e2e bench clean

help:
	@echo "make run              start the all-in-one shape (embedded PostgreSQL) on http://127.0.0.1:8000/"
	@echo "make run-distributed  start every service as its own process (RabbitMQ, PostgreSQL on loopback)"
	@echo "make test             lint, type-check, import contracts, then unit, integration and e2e suites"
	@echo "make bench            benchmarks, printed as ratios against a ceiling measured in the same run"
	@echo "make web              build the web app into web/dist (the gateway serves it); make web-test tests it"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The Python environment, exactly as locked.
# Byte-code is compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would otherwise
# compile every module again, and eight service processes take a minute to start instead of seconds.
setup: $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	$(UV) run --frozen python -m compileall -q src

# What the test suites need beyond Python: Debian packages.
test-setup: setup
	bash scripts/system-packages.sh

# The web app's packages, exactly as locked; installed again only when the lock file changes.
$(WEB_INSTALLED): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The web app, type-checked and built into web/dist, which the gateway serves at /.
web: $(WEB_INSTALLED)
	cd web && npm run --silent build -- --logLevel warn

# Formatting, the generated API types against the backend's OpenAPI documents, component tests, ESLint.
# (The browser tests run with the e2e suite: tests/e2e/test_web_app.py.)
web-test: web setup
	cd web && npm run --silent format:check
	cd web && UV=$(abspath $(UV)) npm run --silent generate:check
	cd web && npm test --silent -- --reporter=dot
	cd web && npm run --silent lint

run: setup web
	$(UV) run kairos run all-in-one

run-distributed: setup
	$(UV) run kairos run distributed

lint: setup
	$(UV) run ruff check $(PYTHON_SOURCES)
	$(UV) run ruff format --check $(PYTHON_SOURCES)

typecheck: setup
	$(UV) run mypy

importlint: setup
	$(UV) run lint-imports

unit: setup
	$(UV) run pytest tests/unit -q

integration: test-setup
	$(UV) run pytest tests/integration -q

e2e: test-setup web
	$(UV) run pytest tests/e2e -q

test: test-setup web-test
	$(UV) run ruff check $(PYTHON_SOURCES)
	$(UV) run ruff format --check $(PYTHON_SOURCES)
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) run pytest tests -q

bench: test-setup
	$(UV) run python -m benchmarks

clean:
	rm -rf .tools .venv .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist test-artifacts
