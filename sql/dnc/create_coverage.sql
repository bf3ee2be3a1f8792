-- Per area code, the registry copy its numbers came from (read by lookup.sql and DncStore.coverage).
-- No parameters.
CREATE TABLE coverage (
    area_code VARCHAR PRIMARY KEY, copy_date DATE, numbers BIGINT, rejected_lines BIGINT, source_file VARCHAR
)
