-- etl-platform evidence --partition D: a day's (lead, phone) verdicts in LEAD_RESULTS, to find a lead or a
-- phone to look up (bind: the partition date). The command prints the phones masked.
SELECT LEAD_ID, PHONE_RANK, PHONE, CALLABLE, BLOCK_REASON
FROM LEAD_RESULTS
WHERE PARTITION_DATE = ?
ORDER BY LEAD_ID, PHONE_RANK NULLS FIRST
