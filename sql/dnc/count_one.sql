-- Lines of the file in `one`, and how many of them parsed to a phone. No parameters.
SELECT count(*), count(phone) FROM one
