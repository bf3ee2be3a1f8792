-- lead_results: the evidence behind each verdict, appended in the same transaction as the results (one bound
-- JSON array per batch). Never deleted or updated by the pipeline.
INSERT INTO SCRUB_EVIDENCE (PHONE, PARTITION_DATE, RUN_ID, LEAD_ID, LITIGATOR_STATUS, LITIGATOR_REASON,
                            CCC_ANSWERED_AT, DNC_STATUS, DNC_REASON, DNC_AREA_CODE, DNC_COPY_DATE,
                            DNC_SOURCE_FILE, CALLABLE, BLOCK_REASON, RECORDED_AT)
SELECT v.value:PHONE::VARCHAR,
       v.value:PARTITION_DATE::DATE,
       v.value:RUN_ID::VARCHAR,
       v.value:LEAD_ID::VARCHAR,
       v.value:LITIGATOR_STATUS::VARCHAR,
       v.value:LITIGATOR_REASON::VARCHAR,
       v.value:CCC_ANSWERED_AT::TIMESTAMP_NTZ,
       v.value:DNC_STATUS::VARCHAR,
       v.value:DNC_REASON::VARCHAR,
       v.value:DNC_AREA_CODE::VARCHAR,
       v.value:DNC_COPY_DATE::DATE,
       v.value:DNC_SOURCE_FILE::VARCHAR,
       v.value:CALLABLE::BOOLEAN,
       v.value:BLOCK_REASON::VARCHAR,
       v.value:RECORDED_AT::TIMESTAMP_NTZ
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v
