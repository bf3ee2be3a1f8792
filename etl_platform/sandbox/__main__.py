"""`python -m etl_platform.sandbox serve ROOT`: the detached sandbox process (it starts
`serve-vendors ROOT`, the vendor servers' own process, itself).

Started by `etl-platform sandbox start` (and the bench) with the environment it should use: the sandbox
reads no `.env` of its own."""

import sys
from pathlib import Path

from etl_platform.sandbox.runner import serve_forever, serve_vendors

if __name__ == "__main__":
    commands = {"serve": serve_forever, "serve-vendors": serve_vendors}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        raise SystemExit("usage: python -m etl_platform.sandbox serve ROOT")
    commands[sys.argv[1]](Path(sys.argv[2]))
