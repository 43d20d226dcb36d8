-- An event whose dispatch keeps failing is set aside, so that the events after it
-- keep flowing instead of waiting behind it for ever.

-- Each try to dispatch an event is counted before it is made, in a transaction of its
-- own: a try that takes the process down (out of memory, say) is counted too, and
-- the event does not crash every restart. last_error is the error of the last try
-- that failed with one ('' when the tries never came back).
ALTER TABLE event_queue
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text NOT NULL DEFAULT '';

-- The events set aside, for an operator to look at. Once the cause is fixed, an
-- event is dispatched again by moving it back:
--   WITH q AS (DELETE FROM event_quarantine WHERE event_id = 123 RETURNING event_id, lead_id, type)
--   INSERT INTO event_queue (event_id, lead_id, type) SELECT * FROM q;
CREATE TABLE event_quarantine (
    event_id       bigint PRIMARY KEY,
    lead_id        bigint NOT NULL,
    type           text NOT NULL,
    attempts       integer NOT NULL,
    last_error     text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
