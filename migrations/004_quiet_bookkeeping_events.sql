-- The events trigger woke the dispatcher for every statement that wrote events. A
-- transaction that notifies takes a cluster-wide lock at commit and holds it through
-- the commit's WAL flush, so every step and send (each writes an event) committed one
-- after the other: under load most of their time went to waiting for that lock.
-- The engine's own bookkeeping (enrolled, scenario_exited, email_sent) now wakes no
-- one: it waits in event_queue for the next batch or the dispatcher's poll, as every
-- event did before LISTEN. What people do (form submissions, opens, clicks,
-- unsubscribes, bounces…) still wakes it at once.
CREATE OR REPLACE FUNCTION queue_new_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_queue (event_id, lead_id, type) SELECT id, lead_id, type FROM new_events;
    IF EXISTS (SELECT 1 FROM new_events WHERE type NOT IN ('enrolled', 'scenario_exited', 'email_sent')) THEN
        PERFORM pg_notify('nurture_events', '');
    END IF;
    RETURN NULL;
END
$$;
