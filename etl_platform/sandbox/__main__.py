"""`python -m etl_platform.sandbox serve ROOT`: the detached sandbox process (see etl_platform.cli)."""

import sys
from pathlib import Path

from etl_platform.environment import load_env
from etl_platform.sandbox.runner import serve_forever

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        raise SystemExit("usage: python -m etl_platform.sandbox serve ROOT")
    load_env()
    serve_forever(Path(sys.argv[2]))
