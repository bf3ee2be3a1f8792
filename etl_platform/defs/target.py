"""Say which warehouse a run writes to, and warn when a `.env` file silently retargets it.

Dagster applies a `.env` in its working directory over the variables exported in the shell: a sandbox `.env`
left in a folder turns a production run started there into a sandbox run. The code location cannot undo
that (it loads after), but it can notice: the environment a process was started with is still readable in
`/proc/self/environ`, so a variable `.env` changed is named, once per process, loudly, never its value.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import dagster as dg
from dotenv import dotenv_values

from etl_platform.core.target import describe_target, shadowed_variables, warehouse_target

log = logging.getLogger(__name__)
TAGS = ("etl/warehouse", "etl/sandbox")


def _started_with() -> dict[str, str] | None:
    """The environment this process was started with (Linux), before any `.env` was applied."""
    try:
        raw = Path("/proc/self/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


@functools.cache
def warn_if_dotenv_shadows(folder: str | None = None) -> list[str]:
    """Names of the variables a `.env` in `folder` (the working directory) overrode; warns once."""
    env_file = Path(folder or os.getcwd()) / ".env"
    started = _started_with()
    if not env_file.is_file() or started is None:
        return []
    names = shadowed_variables(dotenv_values(env_file), started)
    if names:
        log.warning(
            "%s sets %s to other values than the environment this process was started with, and Dagster "
            "applies .env over the environment: this run uses the .env values. Remove the file or those "
            "lines to use the exported ones (README, 'Which settings win').",
            env_file,
            ", ".join(names),
        )
    return names


def announce_target(context: dg.AssetExecutionContext) -> dict[str, dg.MetadataValue]:
    """Log the run's warehouse, tag the run with it (once), and return it as metadata."""
    target = warehouse_target(os.environ)
    text = describe_target(os.environ)
    context.log.info("warehouse target: %s", text)
    tags = {
        "etl/warehouse": f"{target['account']}/{target['database']}.{target['schema']}",
        "etl/sandbox": target["sandbox"],
    }
    if any(context.run.tags.get(key) != value for key, value in tags.items()):
        context.instance.add_run_tags(context.run_id, tags)
    return {"warehouse_target": dg.MetadataValue.text(text)}
