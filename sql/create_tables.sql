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
-- Append-only evidence behind every verdict (the TSR safe harbor: the registry copy used, when CCC answered,
-- the verdict, the run). Reruns replace LEAD_RESULTS; they only ever add rows here.
CREATE TABLE IF NOT EXISTS SCRUB_EVIDENCE (
    PHONE            VARCHAR(10)   NOT NULL,
    PARTITION_DATE   DATE          NOT NULL,
    RUN_ID           VARCHAR       NOT NULL,
    LEAD_ID          VARCHAR       NOT NULL,
    LITIGATOR_STATUS VARCHAR(16)   NOT NULL,
    LITIGATOR_REASON VARCHAR,
    CCC_ANSWERED_AT  TIMESTAMP_NTZ,
    DNC_STATUS       VARCHAR(16)   NOT NULL,
    DNC_REASON       VARCHAR,
    DNC_AREA_CODE    VARCHAR(3),
    DNC_COPY_DATE    DATE,
    DNC_SOURCE_FILE  VARCHAR,
    CALLABLE         BOOLEAN       NOT NULL,
    BLOCK_REASON     VARCHAR,
    RECORDED_AT      TIMESTAMP_NTZ NOT NULL
);
