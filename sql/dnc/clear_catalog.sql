-- Empties coverage, meta and files before they are written again (a load or a change-list update rewrites
-- all three: they are a few hundred rows). No parameters.
DELETE FROM coverage;
DELETE FROM meta;
DELETE FROM files;
