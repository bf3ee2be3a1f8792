-- `one`, the parsed rows of the full-list file being loaded (empty; the parser's relation is inserted into it).
-- TEMP for the same reason as `staged`. No parameters.
CREATE OR REPLACE TEMP TABLE one (phone BIGINT)
