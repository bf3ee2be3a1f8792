"""The one thing pyproject.toml cannot say: the top-level `sql/` folder (the one home of the project's SQL) is
built into the wheel as the package data `etl_platform/sql/`. A checkout reads `sql/` itself
(etl_platform/adapters/sql_files.py); an installed wheel reads its packaged copy. Nothing is copied in the
repository. Everything else about the build is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["etl_platform", "etl_platform.*"]), "etl_platform.sql"],
    package_dir={"etl_platform.sql": "sql"},
)
