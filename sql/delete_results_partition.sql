-- lead_results: remove the partition before re-inserting it (same transaction).
DELETE FROM LEAD_RESULTS WHERE PARTITION_DATE = ?
