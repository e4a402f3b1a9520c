-- A sighting is recorded only for an alert stored in the same transaction,
-- and alert ids are unique, so an alert's sightings are never recorded twice:
-- the primary key only cost every sighting an insert into a randomly ordered
-- index. Look-ups go by value (`campaign_signals_by_value`), the sweep by age.
ALTER TABLE campaign_signals DROP CONSTRAINT campaign_signals_pkey;
