"""Say which warehouse a run writes to, and warn when a `.env` file silently retargets it.

Dagster applies a `.env` in its working directory over the variables exported in the shell: a sandbox `.env`
left in a folder turns a production run started there into a sandbox run. The code location cannot undo
that (it loads after), but it can notice: the environment a process was started with is still readable in
`/proc/<pid>/environ`, its own and its Dagster parents' (under `dagster dev` the process that applied the
file is an ancestor), so a variable `.env` changed is named, once per process, loudly, never its value.
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


def _environ_of(pid: str) -> dict[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _dagster_ancestors() -> list[str]:
    """This process and the Dagster processes above it (`dagster dev` starts the webserver, the daemon and a
    code server, which start run workers): a child inherits an environment `.env` was already applied to,
    so the comparison must reach the process that applied it."""
    chain, pid = ["self"], "self"
    for _ in range(8):
        try:
            parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, IndexError):
            break
        if parent in ("0", "1") or not any(word in cmdline for word in (b"dagster", b"dg", b"multiprocessing")):
            break
        chain.append(parent)
        pid = parent
    return chain


def _started_with() -> list[dict[str, str]]:
    """The environments this process and its Dagster ancestors were started with (Linux), before any
    `.env` was applied in them."""
    return [env for pid in _dagster_ancestors() if (env := _environ_of(pid)) is not None]


@functools.cache
def warn_if_dotenv_shadows(folder: str | None = None) -> list[str]:
    """Names of the variables a `.env` in `folder` (the working directory) overrode; warns once."""
    env_file = Path(folder or os.getcwd()) / ".env"
    environments = _started_with()
    if not env_file.is_file() or not environments:
        return []
    file_values = dotenv_values(env_file)
    names = sorted({name for started in environments for name in shadowed_variables(file_values, started)})
    if names:
        log.warning(
            "%s sets %s to other values than the environment this process was started with, and Dagster "
            "applies .env over the environment: this run uses the .env values. Remove the file or those "
            "lines to use the exported ones (docs/configuration.md, 'Which settings win').",
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
