"""How the daily assets hand their frames to the next step: pickles under the instance's storage folder,
readable by the owner only (files 0600, folders 0700), and deleted once the partition's results are
committed to the warehouse, which is the only store of unmasked phones.

Dagster's default IO manager would keep every step's frame, unmasked phones, names and addresses included,
world-readable under $DAGSTER_HOME/storage forever, and show the paths in the UI. While a partition is not
committed its frames stay (owner-only), so a failed step can be retried from its inputs; once committed, a
single step of that partition is re-run together with the steps before it.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import dagster as dg

from etl_platform.core.stages import PIPELINE_ORDER

FOLDER = "step_outputs"
UNPARTITIONED = "__all__"


def step_outputs_dir(instance: dg.DagsterInstance) -> Path:
    return Path(instance.storage_directory()) / FOLDER


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (path, path.parent):
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; an existing folder keeps its own
    return path


class PrivateStepOutputs(dg.IOManager):
    def __init__(self, root: Path):
        self.root = root

    def _path(self, asset_key: dg.AssetKey, partition: str | None) -> Path:
        return self.root / "__".join(asset_key.path) / f"{partition or UNPARTITIONED}.pickle"

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = self._path(context.asset_key, partition)
        _private_dir(path.parent)
        temporary = path.with_suffix(f".{os.getpid()}.part")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # a reader never sees half a file

    def load_input(self, context: dg.InputContext) -> object:
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = self._path(context.asset_key, partition)
        if not path.exists():
            raise dg.Failure(
                f"the stored output of {context.asset_key.to_user_string()} for {partition} is gone: its "
                "partition's results were committed and the frames deleted. Materialize the steps before "
                f"this one too (e.g. the whole partition)",
                allow_retries=False,
            )
        with open(path, "rb") as stored:
            return pickle.load(stored)


class PrivateStepOutputsIOManager(dg.ConfigurableIOManagerFactory):
    """The project's IO manager (resource key `io_manager`)."""

    def create_io_manager(self, context: dg.InitResourceContext) -> PrivateStepOutputs:
        return PrivateStepOutputs(step_outputs_dir(context.instance))


def forget_partition(instance: dg.DagsterInstance, partition: str) -> int:
    """Delete the daily assets' stored frames of a committed partition; how many files were removed."""
    root = step_outputs_dir(instance)
    removed = 0
    for asset in PIPELINE_ORDER:
        path = root / asset / f"{partition}.pickle"
        if path.exists():
            path.unlink()
            removed += 1
    return removed
