"""The Dagster layer: one folder per part of the graph (leads, enrichment, compliance, delivery,
monitoring), each with its assets and what schedules, senses or checks them; `build_defs(settings)` in each
part's `__init__`. `etl_platform/definitions.py` merges them with the resources and the executor.

Nothing is read from the environment at import: every Dagster object that depends on a setting is built
from a `core.settings.Settings` when the definitions are loaded.

No `from __future__ import annotations` in the modules that declare assets, schedules or sensors: Dagster
reads a compute function's annotations (context and resource types) when it is decorated, and the string
annotations of a nested function cannot be resolved there."""
