-- Sandbox only: the source table the real warehouse already has.
CREATE TABLE IF NOT EXISTS LEADS (
    LEAD_ID    VARCHAR NOT NULL,
    FIRST_NAME VARCHAR,
    LAST_NAME  VARCHAR,
    ADDRESS    VARCHAR,
    CITY       VARCHAR,
    STATE      VARCHAR,
    ZIP        VARCHAR,
    EMAIL      VARCHAR,
    CREATED_AT TIMESTAMP_NTZ NOT NULL
)
