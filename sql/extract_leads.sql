-- raw_leads: the partition's leads. Bind parameters: 1 = partition start, 2 = next partition start (UTC).
SELECT LEAD_ID, FIRST_NAME, LAST_NAME, ADDRESS, CITY, STATE, ZIP, EMAIL, CREATED_AT
FROM LEADS
WHERE CREATED_AT >= ? AND CREATED_AT < ?
ORDER BY CREATED_AT, LEAD_ID
