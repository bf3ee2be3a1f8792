-- Replace cache entries for the given person keys (bind: JSON array of keys).
DELETE FROM ENRICHMENT_CACHE
WHERE PERSON_KEY IN (SELECT v.value::VARCHAR FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v)
