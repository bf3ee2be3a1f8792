-- The check on the LEADS source: rows with no CREATED_AT belong to no day, so no partition ever reads them.
-- How many there are, and a few of their LEAD_IDs (no bind parameters).
SELECT COUNT(*) OVER () AS ROWS_WITHOUT_CREATED_AT, LEAD_ID
FROM LEADS
WHERE CREATED_AT IS NULL
ORDER BY LEAD_ID NULLS FIRST
LIMIT 20
