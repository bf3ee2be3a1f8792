"""The SQL files in `sql/`, read by name. Kept apart from `warehouse` so that the DuckDB side (the DNC
store) and the benchmarks can load their SQL without importing the Snowflake stack (~8 s)."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

SQL_DIR = Path(os.environ.get("ETL_SQL_DIR") or Path(__file__).resolve().parents[1] / "sql")


@cache
def sql(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file (split on `;` at the end of a line)."""
    return [s.strip() for s in re.split(r";\s*$", sql(name), flags=re.MULTILINE) if _has_code(s)]


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
