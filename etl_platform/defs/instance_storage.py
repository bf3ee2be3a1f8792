"""The Dagster instance's PostgreSQL storage, holding its connections open.

`dagster-postgres` builds its storages with SQLAlchemy's `NullPool`: every statement opens and closes a
PostgreSQL connection (a backend process forked on the server). A 200-lead run made 416 of them, 1.4 s of
connection set-up on a 2-core machine, more than any stage's own work except idiCORE. `dagster-webserver`
avoids this by switching the same storages to a small pool (`optimize_for_webserver`); this storage does
that in every process that opens the instance (the CLI, run workers, the daemon), so a process holds one
connection per storage (plus short-lived overflow when threads need more at once). Configured in
`dagster.yaml` as a `custom` storage with the same config as the `postgres` one.
"""

from __future__ import annotations

from dagster._core.storage.base_storage import DagsterStorage
from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage, PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

POOL_RECYCLE_SECONDS = 3600
POOL_MAX_OVERFLOW = 8
NO_STATEMENT_TIMEOUT = 0  # runs may legitimately query for long; the webserver sets its own on top


class _PooledEngine:
    """Mixin for a dagster-postgres storage: replace its NullPool engine by a pool of one connection."""

    _engine: object

    def _use_pool(self) -> None:
        self.optimize_for_webserver(NO_STATEMENT_TIMEOUT, POOL_RECYCLE_SECONDS, POOL_MAX_OVERFLOW)

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()  # close the held connections with the instance, not at interpreter exit


class PooledPostgresRunStorage(_PooledEngine, PostgresRunStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._use_pool()


class PooledPostgresEventLogStorage(_PooledEngine, PostgresEventLogStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._use_pool()


class PooledPostgresScheduleStorage(_PooledEngine, PostgresScheduleStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._use_pool()


class PooledPostgresStorage(DagsterPostgresStorage):
    """`DagsterPostgresStorage` whose run, event-log and schedule storages keep a pooled connection."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None, token_provider=None):
        # Not DagsterPostgresStorage.__init__: it would build (and probe) three NullPool storages first.
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PooledPostgresRunStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        self._event_log_storage = PooledPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        self._schedule_storage = PooledPostgresScheduleStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
