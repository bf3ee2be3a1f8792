"""`dagster_snowflake.SnowflakeResource`, imported without paying for what this project never uses.

`dagster_snowflake.resources` imports Snowpark and the Snowflake Python API (`snowflake.core`) at module
level for its Snowpark-session and object-listing helpers. Measured with `python -X importtime -c "import
etl_platform.definitions"` on this machine: 3.2 s of the 6.7 s import, paid by every Dagster process (code
server, run worker, daemon, each CLI run). The project uses the resource's `get_connection()` only.

So, while `dagster_snowflake` is imported, those two packages are served as stand-ins: a stand-in module
answers any attribute with a `Deferred` name that imports the real package the first time it is called or
looked into. The real packages stay installed and untouched: `create_snowpark_session()` or `get_tables()`
work as before, only their import moves to their first use. The stand-ins are taken out of `sys.modules`
straight after, so any other `import snowflake.core` gets the real package. Tested in
`integration/test_snowflake_resource_imports.py`; if a dagster-snowflake upgrade uses these packages at import
time, that test fails and the stand-ins can simply be removed (the import is then slow again, nothing else
changes).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

DEFERRED_PACKAGES = ("snowflake.snowpark", "snowflake.core")


def _is_deferred(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in DEFERRED_PACKAGES)


class Deferred:
    """A name from a deferred package: the real object is imported on first call or attribute access."""

    def __init__(self, module: str, name: str):
        self._module, self._name = module, name

    def resolve(self):
        return getattr(importlib.import_module(self._module), self._name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self.resolve(), attribute)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


class _StandIn(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return Deferred(self.__name__, name)


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if _is_deferred(fullname):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StandIn(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def _import_dagster_snowflake():
    if "dagster_snowflake" in sys.modules or any(_is_deferred(name) for name in sys.modules):
        # Already imported, or the real packages are loaded anyway: nothing to save.
        import dagster_snowflake

        return dagster_snowflake
    finder = _StandInFinder()
    sys.meta_path.insert(0, finder)
    try:
        import dagster_snowflake
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _is_deferred(n)]:
            del sys.modules[name]
        parent = sys.modules.get("snowflake")
        for attribute in ("snowpark", "core"):
            if isinstance(getattr(parent, attribute, None), _StandIn):
                delattr(parent, attribute)
    return dagster_snowflake


SnowflakeResource = _import_dagster_snowflake().SnowflakeResource

__all__ = ["SnowflakeResource"]
