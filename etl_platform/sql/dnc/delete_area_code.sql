-- Removes an area code's numbers from `staged`, before a newer full list replaces them. ? = area code.
DELETE FROM staged WHERE area_code = ?
