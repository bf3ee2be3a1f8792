-- Removes from `staged` the numbers of one area code that the change list in `chg` deletes.
-- ? ? = area code (of `staged`), area code again (of `chg`).
DELETE FROM staged WHERE area_code = ? AND phone IN
    (SELECT phone FROM chg WHERE action = 'D' AND phone // 10000000 = ?::BIGINT)
