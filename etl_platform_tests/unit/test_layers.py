"""The package's layers, checked by import-linter (`lint-imports`, contracts in pyproject.toml's
[tool.importlinter]): cli > definitions > defs > adapters > core; core free of Dagster and I/O libraries;
adapters free of Dagster; the sandbox apart from defs and cli; nothing importing cli. And a check that the
check can fail: a throwaway package whose core imports dagster is reported broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # etl_platform_tests/unit/test_layers.py -> the checkout


def lint_imports_command() -> list[str]:
    """`lint-imports` of the interpreter running the tests (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: install the dev extras (requirements.lock)")
    return [found]


def run_lint_imports(*args: str, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [*lint_imports_command(), "--no-logo", "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"lint-imports exited {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def test_the_package_keeps_its_import_contracts():
    result = run_lint_imports(cwd=PROJECT_ROOT, pythonpath=PROJECT_ROOT)
    assert result.returncode == 0, report(result)
    assert "0 broken" in result.stdout, report(result)


def test_a_core_module_importing_dagster_breaks_the_contract(tmp_path):
    package = tmp_path / "layers_probe"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "rules.py").write_text("import dagster\n")
    config = tmp_path / "contracts.toml"
    config.write_text(
        textwrap.dedent(
            """\
            [tool.importlinter]
            root_package = "layers_probe"
            include_external_packages = true

            [[tool.importlinter.contracts]]
            name = "core imports no Dagster"
            type = "forbidden"
            source_modules = ["layers_probe.core"]
            forbidden_modules = ["dagster"]
            """
        )
    )

    result = run_lint_imports("--config", str(config), cwd=tmp_path, pythonpath=tmp_path)

    assert result.returncode != 0, report(result)
    assert "BROKEN" in result.stdout, report(result)
    assert "layers_probe.core.rules -> dagster" in result.stdout, report(result)
