"""The edges: the vendor clients (idiCORE, CCC), the DNC store, the warehouse session and the SQL they run.
Plain Python (httpx, DuckDB, the Snowflake connector): no Dagster, so each is testable on its own. Imports
`core` only."""
