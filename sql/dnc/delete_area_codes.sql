-- Removes area codes' numbers from `staged`, before a newer full list replaces them. ? = the area codes (BIGINT[]).
DELETE FROM staged WHERE list_contains(?::BIGINT[], phone // 10000000)
