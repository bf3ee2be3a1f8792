-- Drops `chg` once its change list is applied. No parameters.
DROP TABLE chg
