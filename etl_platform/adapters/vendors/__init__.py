"""The vendor HTTP clients: one module per vendor on a shared base (`base.py`: HTTP errors, retries,
circuit breaker, counters). Their Dagster resources live in `etl_platform/defs/resources.py`."""
