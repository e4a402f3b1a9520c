-- Rule quality (SPEC §14): the incidents opened in a window (7 or 30 days)
-- and how they ended. The window is a range on `opened_at`, and the outcome
-- is read from the same index entries; the rules that fired are read from
-- the window's rows only.
CREATE INDEX incidents_outcomes_by_opened ON incidents (opened_at, status, resolution);
