-- Benchmarks only: make the next run of a day a fresh one (no cached idiCORE answers, no earlier results).
DELETE FROM ENRICHMENT_CACHE;
DELETE FROM LEAD_RESULTS;
DELETE FROM LEAD_DEAD_LETTERS;
