-- Internal mail about no one lead (a sales rep's daily digest) has no lead_id. Its
-- purpose ("digest:<user>:<day>") is unique among such mail, as a lead's messages'
-- purposes are per lead, so a digest run again sends nothing twice. digest is what
-- the digest template shows.
ALTER TABLE messages
    ALTER COLUMN lead_id DROP NOT NULL,
    ADD COLUMN digest jsonb,
    ADD CONSTRAINT messages_lead_or_internal CHECK (lead_id IS NOT NULL OR internal);

CREATE UNIQUE INDEX messages_leadless_purpose_idx ON messages (purpose) WHERE lead_id IS NULL;
