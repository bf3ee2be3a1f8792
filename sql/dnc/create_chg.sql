-- `chg`, the parsed rows of the change list being applied (empty; the parser's relation is inserted into it).
-- TEMP, as `staged`. No parameters.
CREATE OR REPLACE TEMP TABLE chg (action VARCHAR, phone BIGINT)
