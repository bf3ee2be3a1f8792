-- The end of reading the full lists: the look-up table `numbers` from `staged`, then the working tables go.
-- No parameters. Sorted storage makes DuckDB's zone maps prune most row groups on a point look-up; change lists
-- applied later append their additions (a few rows) at the end.
CREATE TABLE numbers AS SELECT DISTINCT phone FROM staged ORDER BY phone;
DROP TABLE staged;
DROP TABLE IF EXISTS one;
