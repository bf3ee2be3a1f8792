-- The area codes (as text) of the parsed numbers in `chg`. No parameters.
SELECT DISTINCT (phone // 10000000)::VARCHAR FROM chg WHERE phone IS NOT NULL
