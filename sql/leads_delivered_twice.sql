-- The late-leads sensor's follow-up: days whose LEAD_RESULTS hold a lead that an EARLIER day within the
-- look-back also delivered. A late lead can move a lead's earliest day: the later day delivered it when it
-- was that lead's first day, the rerun of the earlier day delivers it too. The later day runs again and
-- drops it as a returning lead, so no lead stays delivered twice (DESIGN.md). A lead seen again after
-- the look-back is a new lead again (delivered twice by design): left out by the DATEDIFF bound.
-- Bind parameters: 1 = the first day of the window, 2 = the day after its last day, 3 = LEAD_LOOKBACK_DAYS.
SELECT r.PARTITION_DATE AS DAY, COUNT(DISTINCT r.LEAD_ID) AS LEADS
FROM LEAD_RESULTS r
JOIN LEAD_RESULTS o ON o.LEAD_ID = r.LEAD_ID AND o.PARTITION_DATE < r.PARTITION_DATE
WHERE r.PARTITION_DATE >= ? AND r.PARTITION_DATE < ?
  AND DATEDIFF(day, o.PARTITION_DATE, r.PARTITION_DATE) <= ?
GROUP BY r.PARTITION_DATE
ORDER BY DAY
