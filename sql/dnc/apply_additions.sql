-- Adds to `numbers` the numbers that the change list in `chg` adds, in the given area codes only, once each
-- and only if not listed yet. ? = the area codes the list applies to (BIGINT[]). DuckDB plans the LEFT JOIN ...
-- IS NULL as an anti join built on `chg` (small), probing `numbers`; NOT IN / NOT EXISTS would build on `numbers`.
INSERT INTO numbers
SELECT DISTINCT c.phone
FROM chg c LEFT JOIN numbers n ON n.phone = c.phone
WHERE c.action = 'A' AND list_contains(?::BIGINT[], c.phone // 10000000) AND n.phone IS NULL
