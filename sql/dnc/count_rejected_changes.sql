-- Lines of the change list in `chg` that did not parse to a phone. No parameters.
SELECT count(*) FROM chg WHERE phone IS NULL
