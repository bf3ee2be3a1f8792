-- lead_contacts: cached idiCORE answers younger than the TTL for the given person keys.
-- Bind parameters: 1 = JSON array of person keys, 2 = oldest acceptable FETCHED_AT.
SELECT c.PERSON_KEY, c.RESULT_JSON
FROM ENRICHMENT_CACHE c
JOIN (SELECT v.value::VARCHAR AS PERSON_KEY FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v) k
  ON k.PERSON_KEY = c.PERSON_KEY
WHERE c.FETCHED_AT >= ?
QUALIFY ROW_NUMBER() OVER (PARTITION BY c.PERSON_KEY ORDER BY c.FETCHED_AT DESC) = 1
