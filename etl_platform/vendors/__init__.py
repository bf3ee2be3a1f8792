"""One module per vendor: the client (plain Python, testable without Dagster) and its Dagster resource."""
