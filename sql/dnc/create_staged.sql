-- The working table of a full load: the numbers of the full lists taken so far. No parameters.
-- TEMP: it lives in DuckDB's buffer pool (spilling to <staging file>.tmp past the memory limit), not in the store
-- file: a dropped table's blocks stay in a DuckDB file as free space, which made a 2M-number store 20 MiB, not 4.
CREATE TEMP TABLE staged (phone BIGINT)
