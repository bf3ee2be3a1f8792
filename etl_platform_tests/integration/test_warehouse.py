"""The warehouse adapter against the sandbox's Snowflake-compatible server (fakesnow, over HTTP, through the
real connector): a transaction is rolled back on every way out, every statement is bounded in time, and a
failure names the statement, its tables and the partition."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest

from etl_platform.adapters.warehouse import Warehouse, WarehouseError

TABLE = "WAREHOUSE_ADAPTER_TEST"
DAY = "2026-05-04"


class SandboxConnections:
    """A ConnectionSource on the sandbox (what `dagster_snowflake.SnowflakeResource` is in a run)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    @contextmanager
    def get_connection(self):
        conn = self.sandbox.connect()
        try:
            yield conn
        finally:
            conn.close()


@pytest.fixture
def table(warehouse):
    warehouse.execute("CREATE OR REPLACE TABLE WAREHOUSE_ADAPTER_TEST (PARTITION_DATE DATE, V VARCHAR)")
    warehouse.execute("INSERT INTO WAREHOUSE_ADAPTER_TEST VALUES (?, 'before')", [DAY])
    yield TABLE
    warehouse.execute("DROP TABLE IF EXISTS WAREHOUSE_ADAPTER_TEST")


def _values(cur) -> list[str]:
    cur.execute("SELECT V FROM WAREHOUSE_ADAPTER_TEST ORDER BY V")
    return [row[0] for row in cur.fetchall()]


def _write_half(session) -> None:
    session.cur.execute("DELETE FROM WAREHOUSE_ADAPTER_TEST WHERE PARTITION_DATE = ?", [DAY])
    session.cur.execute("INSERT INTO WAREHOUSE_ADAPTER_TEST VALUES (?, 'half-written')", [DAY])


@pytest.mark.parametrize("interruption", [ValueError("a bug"), KeyboardInterrupt(), SystemExit(1)])
def test_a_transaction_is_rolled_back_on_every_way_out(sandbox, table, warehouse, interruption):
    """An error, Ctrl-C and an exiting process (Dagster terminating a run raises inside the step) alike."""
    warehouse_ = Warehouse(SandboxConnections(sandbox), 100, 30, DAY)
    with warehouse_.session() as session:
        with pytest.raises(type(interruption)), session.transaction():
            _write_half(session)
            raise interruption
        # Read in the same session, still open: it would see its own uncommitted rows had nothing rolled back.
        assert _values(session.cur) == ["before"]
    assert _values(warehouse) == ["before"]


def test_a_failed_rollback_does_not_hide_the_error_that_caused_it(sandbox, table, warehouse):
    """The connection dies inside the transaction: ROLLBACK cannot run, and the caller sees its own error;
    the server discards the transaction with the session."""
    warehouse_ = Warehouse(SandboxConnections(sandbox), 100, 30, DAY)
    with warehouse_.session() as session, pytest.raises(ValueError, match="the upload broke"), session.transaction():
        _write_half(session)
        session.conn.close()
        raise ValueError("the upload broke")
    assert _values(warehouse) == ["before"]


def test_a_failing_statement_names_itself_its_tables_and_the_partition(sandbox):
    with Warehouse(SandboxConnections(sandbox), 100, 30, DAY).session() as session:
        session.cur.execute("DROP TABLE IF EXISTS LEAD_DEAD_LETTERS_MISSING")
        with pytest.raises(WarehouseError) as failure:
            session._run(  # noqa: SLF001 - a statement on a table that does not exist
                "list_missing", "SELECT * FROM LEAD_DEAD_LETTERS_MISSING WHERE PARTITION_DATE = ?", [DAY]
            )
    message = str(failure.value)
    assert "`list_missing`" in message and "LEAD_DEAD_LETTERS_MISSING" in message and DAY in message
    assert failure.value.tables == ["LEAD_DEAD_LETTERS_MISSING"] and not failure.value.timed_out


def test_a_statement_blocked_by_another_transaction_fails_within_its_bound(sandbox, table, warehouse):
    """A crashed upload's session still holds its transaction. The next writer gets a clear error within
    its statement bound, not the connector's bare `HTTP 500` after minutes of retries (fakesnow answers
    the write conflict with a 500; a real account waits for the lock up to LOCK_TIMEOUT, then errs)."""
    crashed = sandbox.connect()
    try:
        crashed_cur = crashed.cursor()
        crashed_cur.execute("BEGIN")
        crashed_cur.execute("DELETE FROM WAREHOUSE_ADAPTER_TEST WHERE PARTITION_DATE = ?", [DAY])
        bound = 2
        started = time.monotonic()
        warehouse_ = Warehouse(SandboxConnections(sandbox), 100, bound, DAY)
        with warehouse_.session() as session, pytest.raises(WarehouseError) as failure, session.transaction():
            session._run("delete_partition", "DELETE FROM WAREHOUSE_ADAPTER_TEST WHERE PARTITION_DATE = ?", [DAY])  # noqa: SLF001
        elapsed = time.monotonic() - started
    finally:
        crashed.rollback()
        crashed.close()
    assert elapsed < 30, f"took {elapsed:.0f} s"
    assert failure.value.timed_out, str(failure.value)
    message = str(failure.value)
    assert "`delete_partition`" in message and TABLE in message and DAY in message and "lock" in message
    assert _values(warehouse) == ["before"], "the crashed transaction and the failed one both left nothing"
