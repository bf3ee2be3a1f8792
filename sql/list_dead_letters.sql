-- etl-platform dead-letters list: a partition's dead letters (bind: partition date).
SELECT PARTITION_DATE, LEAD_ID, STAGE, REASON, RUN_ID, CREATED_AT, ROW_JSON
FROM LEAD_DEAD_LETTERS
WHERE PARTITION_DATE = ?
ORDER BY STAGE, REASON, LEAD_ID
