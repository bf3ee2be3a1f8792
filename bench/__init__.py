"""Benchmarks for etl_platform (`make bench`, or `.venv/bin/python -m bench --help`).

Not tests: they measure, print a table and write JSON (bench/results/). Each figure is the median of
several runs. The pipeline benchmarks drive the real `dagster asset materialize` CLI against a sandbox in
its own process and a Dagster instance in its own PostgreSQL database, so they never touch `make run`'s.
"""
