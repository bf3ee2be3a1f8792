-- What LEADS holds per UTC day of a range: its rows, its distinct LEAD_IDs and an order-free digest of
-- the LEAD_IDs. raw_leads records its day's line before it extracts; the late-leads sensor and `etl-platform
-- health` read the lines of many days at once and compare (core/late_leads.py). One statement for both, so
-- the figures always agree.
-- The digest: BITXOR_AGG(HASH(LEAD_ID)). On real Snowflake HASH_AGG(LEAD_ID) is the built-in for this, but
-- the local fakesnow (DuckDB) server has no HASH_AGG; HASH and BITXOR_AGG exist on both (each engine has
-- its own HASH: the digest is only ever compared with one computed by the same warehouse). XOR cancels a
-- LEAD_ID that appears twice, which COUNT(*) catches. The modulo keeps the digest a signed 64-bit value:
-- DuckDB's HASH is unsigned, and the local server cannot hand back an integer beyond BIGINT.
-- The day is the UTC day (DESIGN.md): CREATED_AT is UTC wall-clock (TIMESTAMP_NTZ) or read in a UTC session.
-- Bind parameters: 1 = first day's start, 2 = the day after the last day (UTC).
SELECT TO_DATE(CREATED_AT) AS DAY,
       COUNT(*) AS ROWS_SEEN,
       COUNT(DISTINCT LEAD_ID) AS LEAD_IDS,
       BITXOR_AGG(HASH(LEAD_ID)) % 9223372036854775807 AS LEAD_DIGEST
FROM LEADS
WHERE CREATED_AT >= ? AND CREATED_AT < ?
GROUP BY TO_DATE(CREATED_AT)
ORDER BY DAY
