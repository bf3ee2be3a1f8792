"""The project's definitions with the executors the in-process one was chosen over, for `bench startup`:
`dagster asset materialize -m bench.executor_variants -a <name>` (PYTHONPATH at the project root)."""

from __future__ import annotations

import os

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.definitions import build_definitions

# Two step processes at once on 2 cores; each imports the code location again (spawn), or forks from a
# server that imported it once per run (forkserver with the code location preloaded).
SPAWN = dg.multiprocess_executor.configured({"max_concurrent": 2}, name="multiprocess_spawn")
FORKSERVER = dg.multiprocess_executor.configured(
    {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": ["etl_platform.definitions"]}}},
    name="multiprocess_forkserver",
)


@dg.definitions
def multiprocess_spawn() -> dg.Definitions:
    return build_definitions(Settings.from_env(os.environ), os.environ, executor=SPAWN)


@dg.definitions
def multiprocess_forkserver() -> dg.Definitions:
    return build_definitions(Settings.from_env(os.environ), os.environ, executor=FORKSERVER)
