-- The area codes (as text) of the parsed numbers in `one`. No parameters.
SELECT DISTINCT (phone // 10000000)::VARCHAR FROM one WHERE phone IS NOT NULL
