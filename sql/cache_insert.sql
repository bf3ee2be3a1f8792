-- Only successful look-ups reach this statement (see assets/contacts.py).
INSERT INTO ENRICHMENT_CACHE (PERSON_KEY, RESULT_JSON, FETCHED_AT)
SELECT v.value:PERSON_KEY::VARCHAR, v.value:RESULT_JSON::VARCHAR, v.value:FETCHED_AT::TIMESTAMP_NTZ
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) v
