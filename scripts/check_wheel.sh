#!/usr/bin/env bash
# Does the wheel work on its own? Builds it (sdist, then the wheel from the sdist, so nothing is built inside
# the checkout), installs it with the locked dependencies into a fresh venv outside the source tree and, from
# a directory outside the source tree, loads the code location, reads every packaged SQL file and the
# baselines, and runs `etl-platform --help`. One line per check; exits non-zero on the first failure.
# Needs the project's venv (`make install`) for uv and the interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UV="$ROOT/.venv/bin/uv"
[[ -x "$UV" ]] || UV="$(command -v uv || true)"
if [[ -z "$UV" || ! -x "$ROOT/.venv/bin/python" ]]; then
    echo "FAIL  the project's venv is missing: run 'make install' first" >&2
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/check_wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
case "$WORK/" in "$ROOT"/*) echo "FAIL  temp dir $WORK is inside the source tree" >&2; exit 1 ;; esac

started=$SECONDS
ok() { echo "ok    $*"; }
fail() {
    echo "FAIL  $1" >&2
    [[ -n "${2:-}" && -s "$2" ]] && sed 's/^/      /' "$2" >&2
    exit 1
}

# 1. Build (uv build: an sdist, then the wheel built from it in uv's own temp dir).
"$UV" build --quiet --out-dir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || fail "build the wheel" "$WORK/build.log"
shopt -s nullglob
wheels=("$WORK"/dist/etl_platform-*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || fail "build the wheel: expected one wheel in $WORK/dist, found ${#wheels[@]}"
WHEEL="${wheels[0]}"
ok "wheel built: $(basename "$WHEEL")"

# 2. A fresh venv outside the source tree: the locked dependencies, then the wheel alone. Not compiled to
# bytecode (unlike `make install` and the image): three short processes here, and compiling the 11,000 files
# (~30 s) costs more than it saves them (~3 s each).
VENV="$WORK/venv"
BASE_PYTHON="$("$ROOT/.venv/bin/python" -c 'import sys; print(sys._base_executable)')"
{
    "$UV" venv --quiet --python "$BASE_PYTHON" "$VENV" &&
        "$UV" pip sync --quiet --python "$VENV/bin/python" "$ROOT/requirements.lock" &&
        "$UV" pip install --quiet --python "$VENV/bin/python" --no-deps "$WHEEL"
} >"$WORK/install.log" 2>&1 || fail "install the wheel with requirements.lock into a fresh venv" "$WORK/install.log"
ok "installed into a fresh venv with requirements.lock: $VENV"

# 3. From outside the source tree, with nothing from the checkout on the path (-I: no cwd, no PYTHONPATH).
RUN="$WORK/run"
mkdir "$RUN"
cd "$RUN"
env -u PYTHONPATH "$VENV/bin/python" -I - "$VENV" "$ROOT" <<'PY' || fail "python checks in the installed wheel (above)"
import sys
from pathlib import Path

venv, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()


def check(label, condition, detail=""):
    if not condition:
        print(f"FAIL  {label}" + (f": {detail}" if detail else ""), file=sys.stderr)
        sys.exit(1)
    print(f"ok    {label}", flush=True)


def inside(path, folder):
    return Path(path).resolve().is_relative_to(folder)


import etl_platform
import etl_platform.definitions
from etl_platform.core.settings import Settings

defs = etl_platform.definitions.build_definitions(Settings(), {})  # nothing set: the sign-in is checked in a step
job = defs.resolve_job_def("daily_leads_job")
modules = {"etl_platform": etl_platform.__file__, "etl_platform.definitions": etl_platform.definitions.__file__}
check(
    f"definitions load and resolve {job.name} from the venv ({etl_platform.definitions.__file__})",
    all(inside(f, venv) and not inside(f, source) for f in modules.values()),
    f"modules loaded from {modules}, expected under {venv}",
)

from importlib import resources

from etl_platform.adapters.sql_files import sql, sql_folder


def sql_names(folder, prefix=""):
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from sql_names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".sql"):
            yield prefix + entry.name.removesuffix(".sql")


folder = resources.files("etl_platform").joinpath("sql")
check("sql/ is in the wheel as etl_platform/sql/", folder.is_dir(), f"no folder {folder}: package data missing")
check("the installed package reads its packaged SQL", str(sql_folder()) == str(folder), f"reads {sql_folder()}")
names = list(sql_names(folder))
empty = [name for name in names if not sql(name).strip()]
in_checkout = sum(1 for _ in (source / "sql").rglob("*.sql"))
check(
    f"{len(names)} SQL files read through sql_files.sql, none empty (checkout has {in_checkout})",
    len(names) >= 20 and not empty and len(names) == in_checkout,
    f"found {len(names)} (need >= 20 and {in_checkout}), empty: {empty}",
)

from etl_platform.adapters.baselines_file import load_baselines

baselines = load_baselines()
check(
    f"baselines.yaml loaded: {len(baselines.stages)} stages ({baselines.path})",
    baselines.stages and inside(baselines.path, venv),
    f"stages {list(baselines.stages)} from {baselines.path}",
)
PY

env -u PYTHONPATH "$VENV/bin/etl-platform" --help >"$WORK/help.log" 2>&1 || fail "etl-platform --help" "$WORK/help.log"
grep -q "Usage:" "$WORK/help.log" || fail "etl-platform --help: no usage text" "$WORK/help.log"
ok "etl-platform --help ($(grep -cE '^  [a-z]' "$WORK/help.log") commands)"

# A command that runs (not just its help), from a folder with no .env and nothing configured: every probe
# reports DOWN with a reason and the exit code is 1; a traceback or a write into site-packages fails this.
mkdir -p "$WORK/empty_project"
(cd "$WORK/empty_project" && env -i PATH="$PATH" HOME="$WORK" DAGSTER_HOME="$WORK/empty_project" \
    "$VENV/bin/etl-platform" health --json >"$WORK/health.json" 2>"$WORK/health.err") && code=0 || code=$?
[[ $code -eq 1 ]] || fail "etl-platform health with nothing configured: exit $code, expected 1" "$WORK/health.err"
grep -q Traceback "$WORK/health.err" && fail "etl-platform health printed a traceback" "$WORK/health.err"
"$VENV/bin/python" -c "import json,sys; p=json.load(open(sys.argv[1])); assert len(p)==9 and p[0]['name']=='snowflake sign-in' and 'no credential is set' in p[0]['detail'] and all(x['status']=='DOWN' and ('not set' in x['detail'] or 'no credential is set' in x['detail']) for x in p[1:] if x['name']!='dagster daemon'), p" "$WORK/health.json" \
    || fail "etl-platform health --json: nine probes, the sign-in first, each DOWN naming what is not set" "$WORK/health.json"
[[ ! -e "$VENV/lib/python3.11/site-packages/.env" ]] || fail "the CLI wrote a .env into site-packages"
ok "etl-platform health runs from the wheel with nothing configured: nine probes, exit 1, no traceback"

echo "wheel check passed in $((SECONDS - started)) s"
