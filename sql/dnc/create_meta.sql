-- The store's one-row metadata: the source files' fingerprint (a load with the same one is skipped) and when
-- it was loaded. No parameters.
CREATE TABLE meta (fingerprint VARCHAR, loaded_at TIMESTAMP)
