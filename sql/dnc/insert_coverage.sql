-- One row of `coverage`. ? ? ? ? ? = area code, copy date, numbers, rejected lines, source file(s).
INSERT INTO coverage VALUES (?, ?, ?, ?, ?)
