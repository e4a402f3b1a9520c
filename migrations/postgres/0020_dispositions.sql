-- Dispositions to the risk engine (SPEC §14).
--
-- What the account holder said about an incident's activity: null until they
-- said something that counts, 'not_mine' once they said so anywhere (it
-- sticks), 'mine' only after a verified unfreeze flow in which every
-- activity was theirs. Written only by `feedback::record_holder_said`.
ALTER TABLE incidents ADD COLUMN holder_said TEXT CHECK (holder_said IN ('mine', 'not_mine'));

-- The outbox gains a third destination: the risk engine's feedback endpoint
-- (`HOLDFAST_RISK_FEEDBACK_URL`), signed with its own key.
ALTER TABLE outbox DROP CONSTRAINT outbox_destination_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_destination_check
    CHECK (destination IN ('account_control', 'notify', 'risk_feedback'));
