-- How many distinct numbers the store holds. No parameters.
SELECT count(*) FROM numbers
