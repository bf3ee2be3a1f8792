-- Projection (select-list expression, not a statement) for SimpleChangeListParser over read_csv columns op, a,
-- b: action is op upper-cased ('A' addition, 'D' deletion), phone is `AAA,NNNNNNN` or a bare 10-digit number
-- as BIGINT, NULL for any other line (counted as rejected). No parameters.
upper(trim(op)) AS action,
CASE
    WHEN b IS NULL AND regexp_full_match(trim(a), '[2-9][0-9]{9}') THEN trim(a)::BIGINT
    WHEN regexp_full_match(trim(a), '[2-9][0-9]{2}') AND regexp_full_match(trim(b), '[0-9]{7}')
        THEN (trim(a) || trim(b))::BIGINT
END AS phone
