-- Drops `one`, the parsed rows of the full-list file being loaded, if a previous file left it. No parameters.
DROP TABLE IF EXISTS one
