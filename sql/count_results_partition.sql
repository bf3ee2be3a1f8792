-- lead_results: reconciliation inside the write transaction (rows computed vs rows stored).
SELECT COUNT(*) FROM LEAD_RESULTS WHERE PARTITION_DATE = ?
