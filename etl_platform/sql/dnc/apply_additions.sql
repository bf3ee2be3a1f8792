-- Stages the numbers of one area code that the change list in `chg` adds, once each and only if not staged yet.
-- ? ? ? ? = area code, change-list date, area code again (of `chg`), area code again (of `staged`).
INSERT INTO staged SELECT DISTINCT phone, ?, ? FROM chg WHERE action = 'A'
    AND phone // 10000000 = ?::BIGINT AND phone NOT IN (SELECT phone FROM staged WHERE area_code = ?)
