-- How many numbers `staged` holds for an area code. ? = area code.
SELECT count(*) FROM staged WHERE area_code = ?
