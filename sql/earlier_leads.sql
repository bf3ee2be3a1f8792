-- new_leads: which of the partition's leads already appear in LEADS on an EARLIER day within the look-back
-- window. A lead belongs to the earliest day it appears on, whatever order the days are run in: the answer
-- depends on LEADS alone, never on which partitions have run (LEAD_RESULTS). Strictly earlier: a rerun of
-- day D never filters out day D's own leads.
-- Bind parameters: 1 = partition start, 2 = next partition start, 3 = look-back window start, 4 = partition start.
SELECT DISTINCT l.LEAD_ID
FROM LEADS l
JOIN LEADS e ON e.LEAD_ID = l.LEAD_ID
WHERE l.CREATED_AT >= ? AND l.CREATED_AT < ?
  AND e.CREATED_AT >= ? AND e.CREATED_AT < ?
