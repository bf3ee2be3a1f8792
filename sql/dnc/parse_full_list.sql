-- Projection (select-list expression, not a statement) for FullListParser over read_csv columns a, b: an FTC
-- full-list line `AAA,NNNNNNN` or a bare 10-digit number becomes phone BIGINT; any other line gives NULL
-- (counted as rejected). No parameters.
CASE
    WHEN b IS NULL AND regexp_full_match(trim(a), '[2-9][0-9]{9}') THEN trim(a)::BIGINT
    WHEN regexp_full_match(trim(a), '[2-9][0-9]{2}') AND regexp_full_match(trim(b), '[0-9]{7}')
        THEN (trim(a) || trim(b))::BIGINT
END AS phone
