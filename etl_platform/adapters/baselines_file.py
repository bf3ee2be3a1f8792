"""Reading the stage baselines: `etl_platform/baselines.yaml` shipped with the package (importlib.resources),
or the file ETL_BASELINES_PATH names. Read each time: edits apply to the next run without a restart."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from etl_platform.core.baselines import Baselines, parse_baselines

PACKAGED = "baselines.yaml"  # inside the etl_platform package


def load_baselines(path: Path | None = None) -> Baselines:
    """`path` is ETL_BASELINES_PATH (`Settings.baselines_path`); None reads the copy shipped with the package."""
    if path is None:
        source = resources.files("etl_platform").joinpath(PACKAGED)
        return parse_baselines(yaml.safe_load(source.read_text()), Path(str(source)))
    return parse_baselines(yaml.safe_load(Path(path).read_text()), Path(path))
