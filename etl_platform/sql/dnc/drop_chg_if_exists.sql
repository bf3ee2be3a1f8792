-- Drops `chg`, the parsed rows of the change list being applied, if a previous one left it. No parameters.
DROP TABLE IF EXISTS chg
