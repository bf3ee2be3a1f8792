"""Warehouse errors name the tables a statement touches: checked against every statement the pipeline ships."""

from __future__ import annotations

import pytest

from etl_platform.adapters.sql_files import sql, sql_folder
from etl_platform.adapters.warehouse import WarehouseError, tables_of

PIPELINE_TABLES = {"LEADS", "LEAD_RESULTS", "LEAD_DEAD_LETTERS", "ENRICHMENT_CACHE", "SCRUB_EVIDENCE"}
SHIPPED = sorted(p.name[:-4] for p in sql_folder().iterdir() if p.name.endswith(".sql"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_statement_names_the_pipeline_tables_it_touches(name):
    found = tables_of(sql(name))
    assert found, f"{name}.sql: no table found"
    assert set(found) <= PIPELINE_TABLES, f"{name}.sql: {found}"


def test_table_functions_and_comments_are_not_tables():
    text = "-- FROM NOT_A_TABLE\nSELECT v.value FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v JOIN LEADS l ON 1=1"
    assert tables_of(text) == ["LEADS"]


class _ConnectorError(Exception):
    def __str__(self) -> str:
        return "002003 (42S02): SQL compilation error:\nObject 'LEAD_RESULTS' does not exist."


def test_the_error_says_what_where_when_and_whether_it_ran_out_of_time():
    text = sql("delete_results_partition")
    quick = WarehouseError("delete_results_partition", text, "2026-05-04", 0.2, 300, _ConnectorError())
    assert str(quick) == (
        "warehouse statement `delete_results_partition` on LEAD_RESULTS for partition 2026-05-04 failed after "
        "0.2 s: 002003 (42S02): SQL compilation error:"
    )
    slow = WarehouseError("delete_results_partition", text, "2026-05-04", 301.0, 300, _ConnectorError())
    assert slow.timed_out and "past its 300 s bound" in str(slow) and "lock" in str(slow)
    read = WarehouseError("extract_leads", sql("extract_leads"), None, 301.0, 300, _ConnectorError())
    assert read.timed_out and "lock" not in str(read) and "partition" not in str(read)


class _QuotingError(Exception):
    def __str__(self) -> str:
        return (
            "100038 (22018): Numeric value '2015550123' is not recognized; String 'Jane Roe' is too long for 'LEAD_ID'"
        )


def test_values_a_connector_error_quotes_are_redacted_and_identifiers_kept():
    error = WarehouseError("insert_results", sql("insert_results"), "2026-05-04", 0.1, 300, _QuotingError())
    assert "2015550123" not in str(error) and "Jane Roe" not in str(error)
    assert "'<value>'" in str(error) and "'LEAD_ID'" in str(error)


class _LockError(Exception):
    def __str__(self) -> str:
        return (
            "000625 (57014): Statement 'x' has locked table 'LEAD_RESULTS' in transaction 1 and this lock has "
            "not yet been released"
        )


def test_a_lock_error_within_the_bound_still_points_at_a_stuck_transaction():
    error = WarehouseError(
        "delete_results_partition", sql("delete_results_partition"), "2026-05-04", 60.0, 300, _LockError()
    )
    assert not error.timed_out and "another transaction may hold a lock" in str(error)
