-- The console: sessions of signed-in users, and the indexes its lead list pages on.

-- A session is known by the SHA-256 of its cookie's 32 random bytes: the cookie
-- itself is never stored, so a copy of this table signs nobody in. csrf_token is the
-- synchronizer token every console form carries. A session ends on logout, on a
-- password change (the user's other sessions), when idle past expires_at, or at
-- ends_at whatever its use.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Keyset pages of the lead list: newest first, and by score (ties by ID).
CREATE INDEX leads_created_idx ON leads (created_at DESC, id DESC);
CREATE INDEX leads_score_id_idx ON leads (score DESC, id DESC);
-- It serves every query the score-only index served.
DROP INDEX leads_score_idx;
