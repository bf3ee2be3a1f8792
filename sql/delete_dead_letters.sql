-- lead_results: the partition's dead letters are replaced together with its results (same transaction).
DELETE FROM LEAD_DEAD_LETTERS WHERE PARTITION_DATE = ?
