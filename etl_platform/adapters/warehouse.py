"""Snowflake access for the pipeline: SQL from `sql/`, bind parameters only, batched JSON bulk writes.

Connections come from `dagster_snowflake.SnowflakeResource` in a run (anything with a `get_connection()`
context manager: this module does not import Dagster). Connections use the `qmark` paramstyle,
i.e. server-side binding: values never become part of the SQL text. Bulk writes bind one JSON array per
batch and expand it with FLATTEN in the warehouse (one statement per batch). Per-row `executemany`
costs a round trip per row, and `write_pandas` needs PUT/COPY, which a local server cannot do.

Every statement is bounded in time (`statement_timeout`: the connector cancels it and stops retrying a
failing request), a failure is a `WarehouseError` naming the statement, its tables and the partition, and a
transaction is rolled back on every way out of it (an error, an interrupt, a cancelled run).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import pandas as pd
from snowflake.connector import errors as sf_errors

from etl_platform.adapters.sql_files import sql, statements

log = logging.getLogger(__name__)
_TABLE_AFTER = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+([A-Z_][A-Z0-9_$]*)\b", re.IGNORECASE
)
_WRITES = re.compile(r"^\s*(?:INSERT|DELETE|UPDATE|MERGE|CREATE)\b", re.IGNORECASE | re.MULTILINE)


_QUOTED = re.compile(r"'([^']*)'")
_IDENTIFIER = re.compile(r"^(?=.*[A-Z_])[A-Z0-9_$.]+$")
_DIGITS = re.compile(r"\d{7,}")


def redact_values(text: str) -> str:
    """A connector message without the values it may quote: a quoted literal becomes '<value>' unless it is an
    upper-case identifier (a table or column name), and a long run of digits (a phone) is masked."""
    text = _QUOTED.sub(lambda m: m.group(0) if _IDENTIFIER.match(m.group(1)) else "'<value>'", text)
    return _DIGITS.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)


def tables_of(text: str) -> list[str]:
    """The tables a statement names (FROM/JOIN/INTO/UPDATE/TABLE), in order, for error messages; comments and
    FLATTEN's table functions are left out."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    found = [m.group(1).upper() for m in _TABLE_AFTER.finditer(code)]
    return list(dict.fromkeys(t for t in found if t != "TABLE"))


class WarehouseError(RuntimeError):
    """A warehouse statement failed or ran past its time bound: which statement, on which tables, for which
    partition, after how long, and the connector's own error code and first line (never bound values)."""

    def __init__(self, statement: str, text: str, partition: str | None, seconds: float, bound: float | None, exc):
        self.statement, self.tables, self.partition, self.seconds = statement, tables_of(text), partition, seconds
        # The connector's text is "errno (sqlstate): message". It names objects, but some messages quote a
        # value ("String '...' is too long", "Numeric value '...' is not recognized"): values are redacted.
        first_line = redact_values((str(exc).strip() or type(exc).__name__).splitlines()[0])
        where = f" on {', '.join(self.tables)}" if self.tables else ""
        day = f" for partition {partition}" if partition else ""
        message = f"warehouse statement `{statement}`{where}{day} failed after {seconds:.1f} s: {first_line}"
        self.timed_out = bound is not None and seconds >= bound
        locked = "lock" in first_line.lower()  # a real account's LOCK_TIMEOUT ends the wait with such an error
        if self.timed_out:
            message += f" (past its {bound:g} s bound, SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS)"
        if (self.timed_out or locked) and _WRITES.search(text):
            message += (
                "; another transaction may hold a lock on the table, e.g. a run that crashed mid-upload: "
                "see the runbook, 'warehouse statement ... failed'"
            )
        super().__init__(message)


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


def bindings(params: Sequence[Any]) -> list[Any]:
    """Statement parameters as the connector binds them. An aware datetime is bound as TIMESTAMP_TZ with its
    own offset (the connector's `(type, value)` form): the connector would otherwise bind every datetime as
    TIMESTAMP_NTZ, and a warehouse compares an NTZ value with a TIMESTAMP_LTZ or TIMESTAMP_TZ column in the
    session's time zone (America/Los_Angeles on a real account unless set), cutting a UTC day at another
    midnight. Naive datetimes stay TIMESTAMP_NTZ."""
    return [("TIMESTAMP_TZ", p) if isinstance(p, dt.datetime) and p.tzinfo is not None else p for p in params]


# (run id, database, schema) whose tables this process has already ensured. Module-level on purpose: the
# stages of one run execute in one process (in-process executor) but each opens its own session, and every
# CREATE ... IF NOT EXISTS is a warehouse round trip (three per stage, ~0.1 s each on a real account). Keyed
# by run id, so a new run checks again; losing the set (a new process) only costs the round trips.
_TABLES_ENSURED: set[tuple[str | None, str, str]] = set()


class ConnectionSource(Protocol):
    """What a Warehouse needs: `dagster_snowflake.SnowflakeResource` is one."""

    def get_connection(self) -> AbstractContextManager: ...


class WarehouseSession:
    """One Snowflake connection used by one stage (`partition` names the day in errors)."""

    def __init__(self, conn, batch_rows: int, statement_timeout: float | None = None, partition: str | None = None):
        self.conn = conn
        self.cur = conn.cursor()
        self.batch_rows = batch_rows
        self.statement_timeout = statement_timeout
        self.partition = partition

    def _run(self, name: str, text: str, params: Sequence[Any] | None = None) -> None:
        """One statement within its time bound; any connector failure becomes a WarehouseError."""
        started = time.monotonic()
        try:
            # `timeout` is the connector's own: a timer cancels the query, and it also bounds how long the
            # connector keeps retrying a failing request (HTTP 5xx), which is otherwise network_timeout.
            self.cur.execute(text, None if params is None else bindings(params), timeout=self.statement_timeout)
        except sf_errors.Error as exc:
            raise WarehouseError(
                name, text, self.partition, time.monotonic() - started, self.statement_timeout, exc
            ) from exc

    def execute(self, name: str, params: Sequence[Any] = ()) -> int:
        self._run(name, sql(name), params)
        return self.cur.rowcount or 0

    def rows(self, name: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._run(name, sql(name), params)
        return self.cur.fetchall()

    def frame(self, name: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        self._run(name, sql(name), params)
        columns = [d[0] for d in self.cur.description]
        return pd.DataFrame(self.cur.fetchall(), columns=columns)

    def insert_json(self, name: str, records: Sequence[dict]) -> int:
        """Run the INSERT ... FLATTEN(PARSE_JSON(?)) statement `name` once per batch; rows inserted."""
        inserted = 0
        for start in range(0, len(records), self.batch_rows):
            batch = records[start : start + self.batch_rows]
            self._run(name, sql(name), [to_json_array(batch)])
            inserted += self.cur.rowcount if self.cur.rowcount is not None else len(batch)
        return inserted

    def ensure_tables(self, run_id: str | None = None) -> None:
        """Create the pipeline's tables when missing. With a run id, once per run in this process: the
        stages of one run share it, and each CREATE ... IF NOT EXISTS is a round trip (three per stage)."""
        key = (run_id, self.conn.database, self.conn.schema)
        if run_id is not None and key in _TABLES_ENSURED:
            return
        for statement in statements("create_tables"):
            self._run("create_tables", statement)
        if run_id is not None:
            _TABLES_ENSURED.add(key)

    @contextmanager
    def transaction(self) -> Iterator[WarehouseSession]:
        """BEGIN ... COMMIT, or ROLLBACK on every other way out (an error, KeyboardInterrupt, a run being
        terminated, a failed COMMIT): readers never see a half-written partition. A ROLLBACK that fails
        itself (the connection is gone) does not hide the error that caused it; the warehouse ends the
        transaction with the session."""
        self._run("begin", "BEGIN")
        committed = False
        try:
            yield self
            self._run("commit", "COMMIT")
            committed = True
        finally:
            if not committed:
                self._rollback()

    def _rollback(self) -> None:
        try:
            self._run("rollback", "ROLLBACK")
        except Exception as exc:  # noqa: BLE001 - the error that got us here is the one to report
            log.warning("ROLLBACK failed (%s); the warehouse ends the transaction when the session closes", exc)


class Warehouse:
    """Sessions on the warehouse for one stage; `partition` (the day) is named in every error."""

    def __init__(
        self,
        snowflake: ConnectionSource,
        batch_rows: int,
        statement_timeout: float | None = None,
        partition: dt.date | str | None = None,
    ):
        self.snowflake = snowflake
        self.batch_rows = batch_rows
        self.statement_timeout = statement_timeout
        self.partition = None if partition is None else str(partition)

    @classmethod
    def from_settings(cls, snowflake: ConnectionSource, settings, partition: dt.date | str | None = None) -> Warehouse:
        """Batch size and time bound from the pipeline's Settings."""
        return cls(snowflake, settings.snowflake_batch_rows, settings.snowflake_statement_timeout_seconds, partition)

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        with self.snowflake.get_connection() as conn:
            session = WarehouseSession(conn, self.batch_rows, self.statement_timeout, self.partition)
            try:
                yield session
            finally:
                session.cur.close()


def connection_args_from_env(
    environ: Mapping[str, str], statement_timeout: int | None = None, lock_timeout: int | None = None
) -> dict[str, Any]:
    """Extra connector arguments: qmark binding always; host/port/protocol only for a local server.

    On a real account every session's TIMEZONE is UTC: Snowflake's default is America/Los_Angeles, and the
    session's time zone is the one a TIMESTAMP_NTZ is read in when compared with a TIMESTAMP_LTZ or
    TIMESTAMP_TZ (and LTZ values are returned in it). The day's bounds are bound as TIMESTAMP_TZ at +00:00
    (`bindings`), so LTZ and TZ columns compare by instant anyway; TIMEZONE = UTC is what makes an NTZ
    CREATED_AT (UTC wall clock) compare with them as UTC too. The statement and lock timeouts are session
    parameters there as well, so the server ends a statement at the bound and a statement waiting on a
    crashed run's lock fails in `lock_timeout` (Snowflake's default waits 12 h). The local fakesnow server
    rejects those parameters (and ALTER SESSION SET TIMEZONE); its DuckDB sessions are pinned to UTC, and
    the client side bounds (`login_timeout`, `network_timeout`, each statement's own timeout) hold."""
    args: dict[str, Any] = {"paramstyle": "qmark", "login_timeout": 30, "network_timeout": 120}
    server_side: dict[str, Any] = {"TIMEZONE": "UTC"}
    if statement_timeout:
        server_side["STATEMENT_TIMEOUT_IN_SECONDS"] = statement_timeout
    if lock_timeout is not None:
        server_side["LOCK_TIMEOUT"] = lock_timeout
    if not environ.get("SNOWFLAKE_HOST"):
        args["session_parameters"] = server_side
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
