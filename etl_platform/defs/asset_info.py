"""What every asset says about itself in the UI: owners, tags (stage, vendor, PII), a code version, and for
the tables the pipeline writes, their name and column schema (from sql/create_tables.sql) and row counts,
under Dagster's own metadata keys (`dagster/table_name`, `dagster/column_schema`, `dagster/row_count`,
`dagster/partition_row_count`), which the UI shows in its table views."""

from __future__ import annotations

from importlib import metadata

import dagster as dg

from etl_platform.adapters.sql_files import table_columns
from etl_platform.core.stages import Stage

OWNERS = ["team:data-engineering"]
# Which personal data an asset's output holds: names/addresses/e-mails of leads, and phone numbers.
PII = {
    "raw_leads": "names-addresses-emails",
    "new_leads": "names-addresses-emails",
    "lead_contacts": "phones-emails",
    "litigator_scrub": "phones",
    "dnc_scrub": "phones",
    "lead_results": "phones-emails",
    "dnc_registry": "phones",
}


def _code_version() -> str:
    try:  # the installed package's version: a new release is a new code version of every asset
        return metadata.version("etl_platform")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def asset_info(stage: Stage) -> dict:
    """Keyword arguments for `@dg.asset`: owners, tags and code version of a stage's asset."""
    tags = {"stage": stage.name.lower().replace(" ", "-"), "vendor": stage.vendor or "none", "pii": PII[stage.asset]}
    return {"owners": OWNERS, "tags": tags, "code_version": _code_version()}


def table_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind, constraints=dg.TableColumnConstraints(nullable=nullable))
            for name, kind, nullable in table_columns(table)
        ]
    )


def table_definition_metadata(table: str, *also_writes: str) -> dict:
    """Definition metadata of an asset stored in `table`: its name and schema, and the schemas of the other
    tables it writes in the same transaction (shown as metadata of this asset, not as assets of their own)."""
    out: dict = {"dagster/table_name": table, "dagster/column_schema": table_schema(table)}
    for other in also_writes:
        out[f"{other.lower()}_schema"] = table_schema(other)
    return out


def row_counts(rows: int, partition_rows: int | None = None) -> dict:
    """`dagster/row_count` (rows this materialization produced) and, for a partitioned table in the warehouse,
    `dagster/partition_row_count` (rows the partition holds there now)."""
    out = {"dagster/row_count": dg.MetadataValue.int(rows)}
    if partition_rows is not None:
        out["dagster/partition_row_count"] = dg.MetadataValue.int(partition_rows)
    return out
