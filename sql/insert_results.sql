-- lead_results: one bound JSON array per batch, expanded in the warehouse. One statement per batch is
-- what keeps a bulk write fast (per-row inserts cost a round trip each).
INSERT INTO LEAD_RESULTS (PARTITION_DATE, LEAD_ID, PHONE, PHONE_RANK, LITIGATOR_STATUS, DNC_STATUS,
                          CALLABLE, BLOCK_REASON, EMAILS, SCRUBBED_AT, RUN_ID)
SELECT v.value:PARTITION_DATE::DATE,
       v.value:LEAD_ID::VARCHAR,
       v.value:PHONE::VARCHAR,
       v.value:PHONE_RANK::INTEGER,
       v.value:LITIGATOR_STATUS::VARCHAR,
       v.value:DNC_STATUS::VARCHAR,
       v.value:CALLABLE::BOOLEAN,
       v.value:BLOCK_REASON::VARCHAR,
       v.value:EMAILS::VARCHAR,
       v.value:SCRUBBED_AT::TIMESTAMP_NTZ,
       v.value:RUN_ID::VARCHAR
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v
