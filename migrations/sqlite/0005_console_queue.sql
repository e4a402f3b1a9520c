-- The security team's console lists every live incident, most urgent first
-- (priority, then acknowledge deadline, then id), a page at a time with a
-- keyset cursor. This index serves that order and the cursor as a range, so
-- a page reads only its own rows however many incidents are open.
CREATE INDEX incidents_live_by_urgency ON incidents (priority, acknowledge_by, id)
    WHERE status NOT IN ('resolved', 'dismissed');
-- The "mine" filter: one agent's live incidents in the same order.
CREATE INDEX incidents_live_by_assignee ON incidents (assignee, priority, acknowledge_by, id)
    WHERE status NOT IN ('resolved', 'dismissed') AND assignee IS NOT NULL;
