-- Removes from `numbers` the numbers that the change list in `chg` deletes, in the given area codes only.
-- ? = the area codes the list applies to (BIGINT[]). A semi join built on `chg` (small): no copy of `numbers`.
DELETE FROM numbers WHERE phone IN
    (SELECT phone FROM chg WHERE action = 'D' AND list_contains(?::BIGINT[], phone // 10000000))
