"""The SQL files shipped in the package (`etl_platform/sql/`), read by name through importlib.resources, so
an installed wheel runs the same statements as a checkout. Kept apart from `warehouse` so that the DuckDB
side (the DNC store) and the benchmarks can load their SQL without importing the Snowflake stack."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


@cache
def sql(name: str) -> str:
    """The text of `etl_platform/sql/<name>.sql` (`name` may hold a folder: "dnc/lookup")."""
    return resources.files("etl_platform").joinpath("sql", f"{name}.sql").read_text()


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file (split on `;` at the end of a line)."""
    return [s.strip() for s in re.split(r";\s*$", sql(name), flags=re.MULTILINE) if _has_code(s)]


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
