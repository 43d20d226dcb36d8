-- The links of sent mail, each distinct list stored once. A click token names its
-- message, the link's index and the set, so the set is written before the message
-- goes out (a link scanner may click before we hear back from the SMTP server) and a
-- click redirects only to a URL stored here. Most messages of a template share one
-- set, so a send rarely writes one. Sets are never deleted: mail once sent keeps its
-- links working. Messages sent before this keep their links in messages.links.
CREATE TABLE link_sets (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of links as stored.
    hash       bytea NOT NULL UNIQUE,
    -- [{"index", "url", "name"}], as messages.links.
    links      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The set of a message's links, once it is sent (no foreign key: a set shared by
-- many messages would be locked by every send that records one).
ALTER TABLE messages ADD COLUMN link_set_id bigint;

-- Nothing reads messages by status, and the index cost every send's outcome
-- an entry in one more index.
DROP INDEX messages_status_idx;
