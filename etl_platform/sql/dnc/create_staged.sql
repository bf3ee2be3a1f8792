-- The working table of a load: every number with the area code and the date of the copy it came from.
-- No parameters.
CREATE TABLE staged (phone BIGINT, area_code VARCHAR, copy_date DATE)
