"""Snowflake access for the pipeline: SQL from `sql/`, bind parameters only, batched JSON bulk writes.

Connections come from `dagster_snowflake.SnowflakeResource` in a run (anything with a `get_connection()`
context manager: this module does not import Dagster). Connections use the `qmark` paramstyle,
i.e. server-side binding: values never become part of the SQL text. Bulk writes bind one JSON array per
batch and expand it with FLATTEN in the warehouse (one statement per batch). Per-row `executemany`
costs a round trip per row, and `write_pandas` needs PUT/COPY, which a local server cannot do.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import pandas as pd

from etl_platform.adapters.sql_files import sql, statements


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json_array(records: Sequence[dict]) -> str:
    return json.dumps(records, default=_json_default, allow_nan=False)


# (run id, database, schema) whose tables this process has already ensured. Module-level on purpose: the
# stages of one run execute in one process (in-process executor) but each opens its own session, and every
# CREATE ... IF NOT EXISTS is a warehouse round trip (three per stage, ~0.1 s each on a real account). Keyed
# by run id, so a new run checks again; losing the set (a new process) only costs the round trips.
_TABLES_ENSURED: set[tuple[str | None, str, str]] = set()


class ConnectionSource(Protocol):
    """What a Warehouse needs: `dagster_snowflake.SnowflakeResource` is one."""

    def get_connection(self) -> AbstractContextManager: ...


class WarehouseSession:
    """One Snowflake connection used by one stage."""

    def __init__(self, conn, batch_rows: int):
        self.conn = conn
        self.cur = conn.cursor()
        self.batch_rows = batch_rows

    def execute(self, name: str, params: Sequence[Any] = ()) -> int:
        self.cur.execute(sql(name), list(params))
        return self.cur.rowcount or 0

    def rows(self, name: str, params: Sequence[Any] = ()) -> list[tuple]:
        self.cur.execute(sql(name), list(params))
        return self.cur.fetchall()

    def frame(self, name: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        self.cur.execute(sql(name), list(params))
        columns = [d[0] for d in self.cur.description]
        return pd.DataFrame(self.cur.fetchall(), columns=columns)

    def insert_json(self, name: str, records: Sequence[dict]) -> int:
        """Run the INSERT ... FLATTEN(PARSE_JSON(?)) statement `name` once per batch; rows inserted."""
        inserted = 0
        for start in range(0, len(records), self.batch_rows):
            batch = records[start : start + self.batch_rows]
            self.cur.execute(sql(name), [to_json_array(batch)])
            inserted += self.cur.rowcount if self.cur.rowcount is not None else len(batch)
        return inserted

    def ensure_tables(self, run_id: str | None = None) -> None:
        """Create the pipeline's tables when missing. With a run id, once per run in this process: the
        stages of one run share it, and each CREATE ... IF NOT EXISTS is a round trip (three per stage)."""
        key = (run_id, self.conn.database, self.conn.schema)
        if run_id is not None and key in _TABLES_ENSURED:
            return
        for statement in statements("create_tables"):
            self.cur.execute(statement)
        if run_id is not None:
            _TABLES_ENSURED.add(key)

    @contextmanager
    def transaction(self) -> Iterator[WarehouseSession]:
        """BEGIN ... COMMIT, or ROLLBACK on any error: readers never see a half-written partition."""
        self.cur.execute("BEGIN")
        try:
            yield self
        except BaseException:
            self.cur.execute("ROLLBACK")
            raise
        self.cur.execute("COMMIT")


class Warehouse:
    def __init__(self, snowflake: ConnectionSource, batch_rows: int):
        self.snowflake = snowflake
        self.batch_rows = batch_rows

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        with self.snowflake.get_connection() as conn:
            session = WarehouseSession(conn, self.batch_rows)
            try:
                yield session
            finally:
                session.cur.close()


def connection_args_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Extra connector arguments: qmark binding always; host/port/protocol only for a local server."""
    args: dict[str, Any] = {"paramstyle": "qmark", "login_timeout": 30, "network_timeout": 120}
    if host := environ.get("SNOWFLAKE_HOST"):
        args["host"] = host
        args["port"] = int(environ.get("SNOWFLAKE_PORT") or 443)
        args["protocol"] = environ.get("SNOWFLAKE_PROTOCOL") or "https"
        # A local server has no telemetry endpoint and no OCSP responder.
        args["session_parameters"] = {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}
        args["ocsp_fail_open"] = True
        # The connector probes cloud metadata endpoints (AWS/Azure/GCP, 0.2 s timeout) at every login to
        # report the platform: nothing answers on a local machine, so each stage paid 0.2 s for nothing.
        args["platform_detection_timeout_seconds"] = 0.0
    return args
