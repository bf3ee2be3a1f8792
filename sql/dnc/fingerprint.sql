-- The fingerprint of the source files the store was loaded from. No parameters.
SELECT fingerprint FROM meta
