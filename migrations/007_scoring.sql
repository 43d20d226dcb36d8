-- Scoring and the lifecycle: every point a lead got is a ledger row (which rule, which
-- event, how many), behaviour points fade with a half-life, sales records BANT, and
-- sales may find a lead itself (sgl).

ALTER TABLE leads DROP CONSTRAINT leads_stage_check;
ALTER TABLE leads ADD CONSTRAINT leads_stage_check
    CHECK (stage IN ('inquiry', 'mql', 'sal', 'sgl', 'sql', 'won', 'lost', 'recycled'));

-- behavior_score is the decayed behaviour points as they stood at behavior_at: a
-- reader decays it further to now, a writer decays it to the time it writes.
ALTER TABLE leads
    ADD COLUMN behavior_at timestamptz NOT NULL DEFAULT now(),
    -- Budget, Authority, Need, Timeframe as sales recorded them: {"budget": "…", …}.
    ADD COLUMN bant jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(bant) = 'object');

-- Scenario points given before this were added to score alone: keep them, as fixed
-- points, so that a re-score from the ledger does not lose them.
UPDATE leads SET profile_score = score WHERE score <> 0 AND profile_score = 0;

CREATE TABLE score_ledger (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id  bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    -- profile: a profile rule (its points come and go with the lead's fields);
    -- behavior: a behaviour rule (fades); fixed: a scenario's update step (stays).
    kind     text NOT NULL CHECK (kind IN ('profile', 'behavior', 'fixed')),
    rule     text NOT NULL,
    -- The event that earned the points (none for a model re-score).
    event_id bigint,
    -- Points as given, and as the current model values them: a model edit that
    -- changes a rule's points re-values its rows, keeping what was given.
    awarded  double precision NOT NULL,
    points   double precision NOT NULL,
    at       timestamptz NOT NULL
-- Room on each page, so that a model edit re-valuing a rule's rows rewrites them in
-- place (points is in no index) instead of moving every row to a new page.
) WITH (fillfactor = 75);

CREATE INDEX score_ledger_lead_idx ON score_ledger (lead_id, rule, at);
CREATE INDEX score_ledger_rule_idx ON score_ledger (rule) WHERE kind = 'behavior';
-- Re-profiling reads a page of leads' profile rows among their many behaviour rows.
CREATE INDEX score_ledger_profile_idx ON score_ledger (lead_id) WHERE kind <> 'behavior';

-- Events by lead, type and time, for the history functions of conditions
-- (visited, submitted, opened_count) and the funnel.
CREATE INDEX events_lead_type_idx ON events (lead_id, type, occurred_at DESC);
CREATE INDEX events_stage_changed_idx ON events (occurred_at) WHERE type = 'stage_changed';

-- The scoring model each process loaded, and the one leads were last scored by: a
-- model that differs from the applied one is re-scored once, whichever process
-- loads it first.
CREATE TABLE score_models (
    version    text PRIMARY KEY,
    source     bytea NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz
);
