-- The security team's console lists every live incident, most urgent first
-- (priority, then acknowledge deadline, then id), a page at a time with a
-- keyset cursor. These indexes serve that order, and the cursor as a range,
-- with each filter the queue offers, so a page reads only its own rows
-- however many incidents are open.
CREATE INDEX incidents_live_by_urgency ON incidents (priority, acknowledge_by, id)
    WHERE status NOT IN ('resolved', 'dismissed');
-- The status filter.
CREATE INDEX incidents_live_by_status ON incidents (status, priority, acknowledge_by, id)
    WHERE status NOT IN ('resolved', 'dismissed');
-- The "mine" filter: one agent's live incidents.
CREATE INDEX incidents_live_by_assignee ON incidents (assignee, priority, acknowledge_by, id)
    WHERE status NOT IN ('resolved', 'dismissed') AND assignee IS NOT NULL;
