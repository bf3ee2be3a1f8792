-- Records the load. ? = the source files' fingerprint.
INSERT INTO meta VALUES (?, now())
