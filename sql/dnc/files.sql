-- The source files the store holds: name, size, mtime in ns. No parameters.
SELECT name, size, mtime_ns FROM files
