"""`python -m etl_platform.cli ...`, the same as the `etl-platform` console script."""

from etl_platform.cli import main

if __name__ == "__main__":
    main(prog_name="etl-platform")
