"""The code location: what `dagster dev`, `dagster asset materialize -m etl_platform.definitions`, the daemon
and the run workers load. One `Definitions`, merged from the parts under `defs/`, built from the settings
read once from the environment when Dagster loads it (`@dg.definitions`), never at import."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Mapping

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs import compliance, delivery, enrichment, leads, monitoring
from etl_platform.defs.execution import EXECUTOR
from etl_platform.defs.resources import build_resources
from etl_platform.defs.step_outputs import PrivateStepOutputsIOManager
from etl_platform.defs.target import warn_if_dotenv_shadows

PARTS = (leads, enrichment, compliance, delivery, monitoring)


def build_definitions(
    settings: Settings, environ: Mapping[str, str], executor: dg.ExecutorDefinition = EXECUTOR
) -> dg.Definitions:
    """Everything the code location defines, for these settings (tests build it with their own; the start-up
    benchmark with other executors, to compare them)."""
    return dg.Definitions.merge(
        *(part.build_defs(settings) for part in PARTS),
        dg.Definitions(
            resources={**build_resources(settings, environ), "io_manager": PrivateStepOutputsIOManager()},
            executor=executor,
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    warn_if_dotenv_shadows()  # Dagster applied a .env over the environment: say so before anything runs
    return build_definitions(Settings.from_env(os.environ), os.environ)


def _freeze_import_time_objects() -> None:
    """Everything imported so far (dagster, the Snowflake connector and snowpark, pandas: ~1.5 million
    objects) lives as long as the process. Freezing it takes it out of the cyclic collector's full passes:
    without this the collection at interpreter exit alone took ~2 s after every `dagster asset materialize`
    (py-spy: gc_collect_main), and every full collection during a run rescanned the same objects.

    Skipped when duckdb is already loaded (a test process with the sandbox in it): duckdb's bindings report
    frozen objects as leaks at exit. The pipeline itself imports duckdb only after this (below)."""
    if "duckdb" not in sys.modules:
        gc.freeze()


_freeze_import_time_objects()

# Imported after the freeze on purpose (its objects stay collectable, see above), but still with the code
# location: the DNC scrub needs it in every run, and an import is start-up cost, not the stage's.
import duckdb  # noqa: E402, F401
