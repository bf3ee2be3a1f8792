"""`make install` leaves bytecode for what every Dagster process imports. With PYTHONDONTWRITEBYTECODE=1
(exported by many images, CI runners and the team's machines) Python never writes .pyc itself, and `uv pip
sync` compiles none by default: each CLI run, code server, run worker and test subprocess then compiled
dagster, pandas, the connector and the project from source (`import etl_platform.definitions` ~3x slower,
bench/bytecode.md). The image compiles at install too (unit/test_deployment_files.py)."""

from __future__ import annotations

import importlib.util
import struct
import sys
import sysconfig
from pathlib import Path

from etl_platform_tests.conftest import PROJECT_ROOT

# What `import etl_platform.definitions` pulls in, by weight (python -X importtime)
STACK = ("dagster", "dagster_snowflake", "dagster_postgres", "pandas", "numpy", "snowflake", "pydantic", "sqlalchemy")
STAMP = Path(sys.prefix) / ".installed"  # `make install` touches it last


def without_usable_bytecode(source: Path) -> bool:
    """True when the import system would compile `source` again: no .pyc, or one for another version of it
    (a timestamp .pyc records the source's mtime and size; a hash-based one is checked at import)."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        header = cached.read_bytes()[:16]
    except OSError:
        return True
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return True
    flags, mtime, size = struct.unpack("<III", header[4:16])
    if flags:  # hash-based (SOURCE_DATE_EPOCH builds)
        return False
    stat = source.stat()
    return (mtime, size) != (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)


def test_make_install_compiled_the_stack_every_process_imports():
    assert STAMP.is_file(), f"{sys.prefix} was not made by `make install`"
    site = Path(sysconfig.get_paths()["purelib"])
    missing = {}
    for package in STACK:
        sources = list((site / package).rglob("*.py"))
        assert sources, f"{package} is not installed in {site}"
        missing[package] = [str(p.relative_to(site)) for p in sources if without_usable_bytecode(p)]
    assert not any(missing.values()), {k: (len(v), v[:3]) for k, v in missing.items() if v} | {
        "fix": "run `make install` (uv pip sync --compile-bytecode)"
    }


def test_make_install_compiled_the_projects_own_modules():
    """The editable install leaves the project in the checkout, where uv does not compile: compileall does.
    A module added or edited since the install is compiled by the next one (it runs from source until then)."""
    installed = STAMP.stat().st_mtime
    sources = [p for p in (PROJECT_ROOT / "etl_platform").rglob("*.py") if p.stat().st_mtime <= installed]
    assert len(sources) > 20, "the project's modules predate the install"
    uncompiled = [str(p.relative_to(PROJECT_ROOT)) for p in sources if without_usable_bytecode(p)]
    assert not uncompiled, (len(uncompiled), uncompiled[:5], "run `make install`")
