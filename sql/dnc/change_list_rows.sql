-- Filter condition (an expression, not a statement) on parse_change_list's output: keeps additions and
-- deletions, drops rows with another action, and keeps unparsed lines (phone NULL) so they count as rejected.
-- No parameters.
action IN ('A', 'D') OR phone IS NULL
