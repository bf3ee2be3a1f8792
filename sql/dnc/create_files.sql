-- The source files the store holds (name, size, mtime in ns: what the fingerprint is made of), full lists and
-- change lists alike. A later load that finds only newer change lists added applies just those. No parameters.
CREATE TABLE files (name VARCHAR, size BIGINT, mtime_ns BIGINT)
