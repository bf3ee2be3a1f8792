-- new_leads: which of the partition's leads an EARLIER partition already delivered. Runs in the
-- warehouse so the partition's leads never travel twice. Strictly earlier: a rerun of day D must not
-- filter out what day D itself delivered.
-- Bind parameters: 1 = partition start, 2 = next partition start, 3 = partition date.
SELECT DISTINCT l.LEAD_ID
FROM LEADS l
JOIN LEAD_RESULTS r ON r.LEAD_ID = l.LEAD_ID
WHERE l.CREATED_AT >= ? AND l.CREATED_AT < ?
  AND r.PARTITION_DATE < ?
