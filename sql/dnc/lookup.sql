-- DNC look-up of a batch of phones (DuckDB, the local registry store). `wanted(PHONE, LISTED)` is the batch as
-- given, LISTED read from the store's bitmap index (null where the index cannot say: unknown); parameters: the oldest copy date that is still valid (31 days), today (a copy dated later is not
-- trusted: a clock or file-naming error), the oldest valid date again, today again. Validity is phones.nanp_structure_error
-- in SQL: 10 digits, area code and exchange not starting with 0/1, no N11 area code, not 555-0100..0199.
WITH distinct_phones AS (
    SELECT DISTINCT PHONE, LISTED FROM wanted
),
parsed AS (
    SELECT
        PHONE,
        LISTED,
        CASE
            WHEN regexp_full_match(PHONE, '[2-9][0-9]{2}[2-9][0-9]{6}')
                 AND substr(PHONE, 2, 2) <> '11'
                 AND NOT (substr(PHONE, 4, 3) = '555' AND substr(PHONE, 7, 4) BETWEEN '0100' AND '0199')
            THEN CAST(PHONE AS BIGINT)
        END AS number
    FROM distinct_phones
)
SELECT
    p.PHONE,
    CASE
        WHEN p.number IS NULL OR c.copy_date IS NULL OR c.copy_date < ? OR c.copy_date > ? OR p.LISTED IS NULL
            THEN 'unknown'
        WHEN p.LISTED THEN 'listed'
        ELSE 'clear'
    END AS STATUS,
    CASE
        WHEN p.number IS NULL THEN 'invalid_number'
        WHEN c.copy_date IS NULL THEN 'area_code_not_covered'
        WHEN c.copy_date < ? THEN 'registry_stale'
        WHEN c.copy_date > ? THEN 'registry_future_dated'
        WHEN p.LISTED IS NULL THEN 'registry_index_missing'
    END AS REASON,
    -- The evidence behind the verdict: which registry copy (area code, date, file) answered for the phone.
    c.area_code AS AREA_CODE,
    c.copy_date AS COPY_DATE,
    c.source_file AS SOURCE_FILE
FROM parsed p
LEFT JOIN coverage c ON c.area_code = CAST(p.number // 10000000 AS VARCHAR)
