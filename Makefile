# The two commands: `make run` (a daily partition end to end on the local sandbox) and `make test`.
# Everything else is set up by them on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lock install run test test-unit test-integration test-e2e test-deploy lint bench dev sandbox-start sandbox-stop clean

# Bytecode is compiled here, once: with PYTHONDONTWRITEBYTECODE=1 (exported by many images, CI runners and this
# machine) Python never writes .pyc, and `uv pip sync` compiles none by default, so every Dagster process (the
# CLI run, each code server and run worker, each test's subprocess) compiled dagster, pandas, the connector and
# the project from source: `import etl_platform.definitions` ~3x slower (bench/bytecode.md). uv compiles site-packages;
# the editable project's modules live in the checkout, so compileall does those (a module added or edited later
# is compiled by the next `make install`, or runs from source meanwhile). The Makefile is a prerequisite: a
# changed recipe rebuilds the venv. unit/test_bytecode.py checks the result.
$(STAMP): pyproject.toml requirements.lock Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q etl_platform
	touch $(STAMP)

install: $(STAMP)

## Re-resolve the locks after changing pyproject.toml: the tested one (with dev tools) and the image's runtime
## one, pinned to the same versions (unit/test_deployment_files.py checks they agree).
lock: install
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra deploy -c requirements.lock --python-version 3.11 -o requirements.runtime.lock

## Materialize yesterday's partition (or PARTITION=YYYY-MM-DD) on the sandbox; PROFILE=flaky|hostile|down|...
run: install
	./scripts/ensure_postgres.sh
	$(BIN)/etl-platform run $(if $(PARTITION),--partition $(PARTITION)) $(if $(PROFILE),--profile $(PROFILE))

## The test suite: unit, integration and e2e (real sandbox servers, real PostgreSQL, Dagster runs end to end).
## The deployment's own tier (separate processes) is `make test-deploy`; CI runs it after this one.
TIERS := etl_platform_tests/unit etl_platform_tests/integration etl_platform_tests/e2e
test: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest -n 3 --dist loadfile $(TIERS)

## One tier: unit (no servers, seconds), integration (sandbox + PostgreSQL), e2e (Dagster runs), deploy.
test-unit: install
	$(BIN)/pytest etl_platform_tests/unit

test-integration: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest etl_platform_tests/integration

test-e2e: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest -n 2 --dist loadfile etl_platform_tests/e2e

## The deployment as it runs: code server, webserver and daemon as separate processes on PostgreSQL (GraphQL
## submission, code-server restarts, killed run workers, the daemon's backfills, the dev UI, health).
test-deploy: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest -n 2 --dist loadfile etl_platform_tests/deploy

## Benchmarks (not tests): BENCH="e2e overhead scale client dnc startup sizes backfill" (default all), REPEATS=3; see docs/performance.md.
bench: install
	./scripts/ensure_postgres.sh
	$(BIN)/python -m bench $(BENCH) --repeats $(or $(REPEATS),3)

## ruff, and the import rules between the layers (pyproject.toml [tool.importlinter])
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

## The Dagster UI on the sandbox: http://127.0.0.1:3000 (Ctrl-C stops the UI, its daemon and code server)
dev: install
	./scripts/ensure_postgres.sh
	$(BIN)/etl-platform dev

sandbox-start: install
	$(BIN)/etl-platform sandbox start $(if $(PROFILE),--profile $(PROFILE))

sandbox-stop: install
	$(BIN)/etl-platform sandbox stop

clean:
	-$(BIN)/etl-platform sandbox stop
	rm -rf .sandbox bench/.work storage logs run-logs history schedules .logs_queue .telemetry
