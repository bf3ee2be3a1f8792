-- etl-platform evidence --lead ID: every recorded verdict for each phone of one lead, across partitions and
-- runs (bind: the LEAD_ID). The command prints the phones masked: the person asking did not type them.
SELECT PHONE, PARTITION_DATE, RUN_ID, LEAD_ID, LITIGATOR_STATUS, LITIGATOR_REASON, CCC_ANSWERED_AT, DNC_STATUS,
       DNC_REASON, DNC_AREA_CODE, DNC_COPY_DATE, DNC_SOURCE_FILE, CALLABLE, BLOCK_REASON, RECORDED_AT
FROM SCRUB_EVIDENCE
WHERE LEAD_ID = ?
ORDER BY PHONE, RECORDED_AT, PARTITION_DATE
