-- The frequency cap: a lead gets at most so many marketing messages in any 24 hours
-- and in any 7 days, whichever scenarios send them. A message counts from the moment
-- it is queued; mail the lead asked for (a template marked transactional) never does.
ALTER TABLE messages ADD COLUMN transactional boolean NOT NULL DEFAULT false;

-- A send step reads the lead's marketing messages of the last 7 days.
CREATE INDEX messages_marketing_idx ON messages (lead_id, created_at) WHERE NOT transactional;
