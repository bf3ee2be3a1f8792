-- Sandbox only: which generated content each day of LEADS holds, so a changed generator reseeds it.
CREATE TABLE IF NOT EXISTS SANDBOX_SEEDS (DAY DATE NOT NULL, DIGEST VARCHAR NOT NULL)
