"""`python bench/peak_rss.py OUT COMMAND...`: run COMMAND, then write its own peak resident memory and CPU
seconds to OUT (JSON) and exit with its exit status.

Why a launcher: Linux carries a process's peak RSS across exec, and Python's subprocess starts a child with
vfork or fork, so wait4's ru_maxrss for a child is at least the parent's peak RSS when it started the child: a
benchmark process that held 600 MiB made every child it measured look 600 MiB or more. This launcher is a
fresh, small interpreter (it imports nothing else) when it starts COMMAND, so COMMAND's figure is its own.
"""

import json
import os
import subprocess
import sys


def measured(out, command: list[str]) -> list[str]:
    """`command` run through this launcher (by file, so it works from any working directory)."""
    return [sys.executable, os.path.abspath(__file__), str(out), *command]


def main() -> int:
    out, command = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"peak_rss_mib": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}, f)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main())
