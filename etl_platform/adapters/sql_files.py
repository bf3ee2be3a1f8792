"""The project's SQL files, read by name. Their one home is the top-level `sql/` folder of the repository; the
wheel carries them as the package data `etl_platform/sql/` (setup.py maps the folder in at build time), so an
installed wheel runs the same statements as a checkout. Kept apart from `warehouse` so that the DuckDB side
(the DNC store) and the benchmarks can load their SQL without importing the Snowflake stack."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

# A checkout (or an editable install of one): the package's folder sits beside the repository's sql/.
_CHECKOUT_SQL = Path(__file__).resolve().parents[2] / "sql"


@cache
def sql_folder() -> Traversable:
    """Where the SQL files are: the packaged copy in an installed wheel, else the checkout's `sql/`."""
    packaged = resources.files("etl_platform").joinpath("sql")
    if packaged.is_dir():
        return packaged
    if _CHECKOUT_SQL.is_dir():
        return _CHECKOUT_SQL
    raise FileNotFoundError(f"no SQL files: neither {packaged} (package data) nor {_CHECKOUT_SQL} (a checkout)")


@cache
def sql(name: str) -> str:
    """The text of `sql/<name>.sql` (`name` may hold a folder: "dnc/lookup")."""
    return sql_folder().joinpath(*f"{name}.sql".split("/")).read_text()


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file (split on `;` at the end of a line)."""
    return [s.strip() for s in re.split(r";\s*$", sql(name), flags=re.MULTILINE) if _has_code(s)]


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.S)


@cache
def table_columns(table: str) -> tuple[tuple[str, str, bool], ...]:
    """(column, type, nullable) of a table the pipeline creates, read from `create_tables.sql`: the one place
    its schema is written, so the schema Dagster shows cannot drift from the one the warehouse has."""
    for name, body in _CREATE.findall(sql("create_tables")):
        if name == table:
            columns = []
            for line in body.splitlines():
                code = line.split("--", 1)[0].strip().rstrip(",")
                if code:
                    column, kind, *rest = code.split()
                    columns.append((column, kind, "NOT NULL" not in " ".join(rest).upper()))
            return tuple(columns)
    raise KeyError(f"{table} is not created in sql/create_tables.sql")
