-- One row of `files`. ? ? ? = file name, size in bytes, mtime in ns.
INSERT INTO files VALUES (?, ?, ?)
