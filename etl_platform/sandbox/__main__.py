"""`python -m etl_platform.sandbox serve ROOT`: the detached sandbox process.

Started by `etl-platform sandbox start` (and the bench) with the environment it should use: the sandbox
reads no `.env` of its own."""

import sys
from pathlib import Path

from etl_platform.sandbox.runner import serve_forever

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        raise SystemExit("usage: python -m etl_platform.sandbox serve ROOT")
    serve_forever(Path(sys.argv[2]))
