# The two commands: `make run` (a daily partition end to end on the local sandbox) and `make test`.
# Everything else is set up by them on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lock install run test test-unit test-integration test-e2e lint bench dev sandbox-start sandbox-stop clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
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

## The test suite, every tier (real sandbox servers, real PostgreSQL, Dagster runs end to end).
test: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest -n 2 --dist loadfile

## One tier: unit (no servers, seconds), integration (sandbox + PostgreSQL), e2e (Dagster runs).
test-unit: install
	$(BIN)/pytest etl_platform_tests/unit

test-integration: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest etl_platform_tests/integration

test-e2e: install
	./scripts/ensure_postgres.sh
	$(BIN)/pytest -n 2 --dist loadfile etl_platform_tests/e2e

## Benchmarks (not tests): BENCH="e2e overhead scale client dnc startup sizes backfill" (default all), REPEATS=3; see README.
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
