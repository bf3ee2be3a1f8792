-- Every covered area code with its copy date, numbers, rejected lines and source file(s), by area code.
-- No parameters.
SELECT area_code, copy_date, numbers, rejected_lines, source_file FROM coverage ORDER BY 1
