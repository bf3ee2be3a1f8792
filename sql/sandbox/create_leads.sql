-- Sandbox only: the source table the real warehouse already has. No NOT NULL: a real feed delivers rows
-- without a LEAD_ID or a CREATED_AT, and the pipeline must account for them.
CREATE TABLE IF NOT EXISTS LEADS (
    LEAD_ID    VARCHAR,
    FIRST_NAME VARCHAR,
    LAST_NAME  VARCHAR,
    ADDRESS    VARCHAR,
    CITY       VARCHAR,
    STATE      VARCHAR,
    ZIP        VARCHAR,
    EMAIL      VARCHAR,
    CREATED_AT TIMESTAMP_NTZ
)
