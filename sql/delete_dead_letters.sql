-- A stage replaces its own dead letters for the partition, so reruns do not duplicate them.
-- Bind parameters: 1 = partition date, 2 = stage.
DELETE FROM LEAD_DEAD_LETTERS WHERE PARTITION_DATE = ? AND STAGE = ?
