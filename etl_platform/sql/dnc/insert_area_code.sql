-- Stages the numbers of one area code from `one`. ? ? ? = area code, copy date, area code again (the filter).
INSERT INTO staged SELECT phone, ?, ? FROM one WHERE phone // 10000000 = ?::BIGINT
