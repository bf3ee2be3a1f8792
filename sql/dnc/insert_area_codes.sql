-- Stages the numbers of some area codes from `one`. ? = the area codes (BIGINT[]).
INSERT INTO staged SELECT phone FROM one WHERE list_contains(?::BIGINT[], phone // 10000000)
