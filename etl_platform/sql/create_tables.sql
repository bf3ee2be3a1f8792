-- Tables the pipeline writes. Run before every write stage; each statement is idempotent.
-- LEADS is the source and is never created or dropped here.
CREATE TABLE IF NOT EXISTS LEAD_RESULTS (
    PARTITION_DATE   DATE          NOT NULL,
    LEAD_ID          VARCHAR       NOT NULL,
    PHONE            VARCHAR(10),
    PHONE_RANK       INTEGER,
    LITIGATOR_STATUS VARCHAR(16),
    DNC_STATUS       VARCHAR(16),
    CALLABLE         BOOLEAN       NOT NULL,
    BLOCK_REASON     VARCHAR,
    EMAILS           VARCHAR,
    SCRUBBED_AT      TIMESTAMP_NTZ NOT NULL,
    RUN_ID           VARCHAR
);
CREATE TABLE IF NOT EXISTS LEAD_DEAD_LETTERS (
    PARTITION_DATE DATE          NOT NULL,
    LEAD_ID        VARCHAR,
    STAGE          VARCHAR       NOT NULL,
    REASON         VARCHAR       NOT NULL,
    ROW_JSON       VARCHAR       NOT NULL,
    RUN_ID         VARCHAR,
    CREATED_AT     TIMESTAMP_NTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS ENRICHMENT_CACHE (
    PERSON_KEY  VARCHAR(64)   NOT NULL,
    RESULT_JSON VARCHAR       NOT NULL,
    FETCHED_AT  TIMESTAMP_NTZ NOT NULL
);
