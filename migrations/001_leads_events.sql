-- Leads, their append-only event stream, and API keys.

CREATE TABLE leads (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            text NOT NULL CHECK (email <> ''),
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    company          text NOT NULL DEFAULT '',
    department       text NOT NULL DEFAULT '',
    title            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    employees        integer CHECK (employees >= 0),
    industry         text NOT NULL DEFAULT '',
    country          text NOT NULL DEFAULT '',
    timezone         text NOT NULL DEFAULT '',
    source           text NOT NULL DEFAULT '',
    attributes       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    tags             text[] NOT NULL DEFAULT '{}',
    -- Consent to marketing mail: unknown until the lead or an import says so.
    consent          text NOT NULL DEFAULT 'unknown' CHECK (consent IN ('unknown', 'granted', 'denied')),
    consent_at       timestamptz,
    -- Set by an unsubscribe; no upsert or import clears it.
    unsubscribed_at  timestamptz,
    stage            text NOT NULL DEFAULT 'inquiry'
                     CHECK (stage IN ('inquiry', 'mql', 'sal', 'sql', 'won', 'lost', 'recycled')),
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    -- Scores: profile points (who the lead is) and behaviour points (what it did, decayed).
    profile_score    integer NOT NULL DEFAULT 0,
    behavior_score   double precision NOT NULL DEFAULT 0,
    score            integer NOT NULL DEFAULT 0,
    grade            text NOT NULL DEFAULT 'cold' CHECK (grade IN ('hot', 'warm', 'cold')),
    owner_id         bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX leads_email_key ON leads (lower(email));
CREATE INDEX leads_stage_idx ON leads (stage);
CREATE INDEX leads_score_idx ON leads (score DESC);
CREATE INDEX leads_owner_idx ON leads (owner_id) WHERE owner_id IS NOT NULL;

-- One append-only stream of what happened to each lead.
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    properties  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(properties) = 'object')
);

CREATE INDEX events_lead_timeline_idx ON events (lead_id, occurred_at DESC, id DESC);
CREATE INDEX events_type_time_idx ON events (type, occurred_at);

-- API keys are stored as SHA-256 hashes of high-entropy secrets; the secret is shown once.
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
