package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// enroller enrolls leads in scenarios a batch at a time: it reads what it needs about
// a set of leads in two queries, decides in memory, and writes the new enrollments,
// their enrolled events and their first step jobs with one statement each. The
// dispatcher and scheduled triggers enroll thousands of leads in one transaction, so
// a few round trips per lead would make them the slowest part of the engine.
type enroller struct {
	e       *Engine
	tx      pgx.Tx
	now     time.Time
	history map[enrollKey]*enrollHistory
	blocked map[int64]bool
	pending []pendingEnrollment
	waiting map[int64]bool // leads with pending enrollments
}

type enrollKey struct {
	leadID   int64
	scenario string
}

// enrollHistory is what the reenroll policy needs of a lead's past in a scenario.
type enrollHistory struct {
	last    *time.Time
	running bool
}

type pendingEnrollment struct {
	en      *enrollment
	eventID int64
}

// newEnroller reads the enrollment history of leads and whether each may be mailed.
func (e *Engine) newEnroller(ctx context.Context, tx pgx.Tx, now time.Time, leads []*lead.Lead) (*enroller, error) {
	r := &enroller{e: e, tx: tx, now: now, history: map[enrollKey]*enrollHistory{}, blocked: map[int64]bool{},
		waiting: map[int64]bool{}}
	if len(leads) == 0 {
		return r, nil
	}
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	rows, err := tx.Query(ctx, `SELECT lead_id, scenario_id, max(started_at), coalesce(bool_or(ended_at IS NULL), false)
		FROM enrollments WHERE lead_id = ANY($1) GROUP BY lead_id, scenario_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	var k enrollKey
	var h enrollHistory
	_, err = pgx.ForEachRow(rows, []any{&k.leadID, &k.scenario, &h.last, &h.running}, func() error {
		hh := h
		r.history[k] = &hh
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enrollment history: %w", err)
	}
	blocked, err := mail.BlockedLeads(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for id := range blocked {
		r.blocked[id] = true
	}
	return r, nil
}

// add enrolls a lead in a scenario's current version, unless it runs in it now, its
// reenroll policy says no, or it may not be mailed. It returns the new enrollment,
// which has its ID once flush wrote it, or nil.
func (r *enroller) add(sc *scenario.Scenario, l *lead.Lead, eventID int64) *enrollment {
	if len(sc.Steps) == 0 || r.blocked[l.ID] {
		return nil
	}
	k := enrollKey{l.ID, sc.ID}
	h := r.history[k]
	if h == nil {
		h = &enrollHistory{}
		r.history[k] = h
	}
	if h.running || (h.last != nil && !sc.MayReenroll(*h.last, r.now)) {
		return nil
	}
	now := r.now
	h.running, h.last = true, &now
	en := &enrollment{LeadID: l.ID, ScenarioID: sc.ID, Version: sc.Version, Step: sc.Steps[0].ID, StepAt: now, StartedAt: now}
	r.pending = append(r.pending, pendingEnrollment{en: en, eventID: eventID})
	r.waiting[l.ID] = true
	return en
}

// ended notes that an enrollment ended in this transaction.
func (r *enroller) ended(en *enrollment) {
	if h := r.history[enrollKey{en.LeadID, en.ScenarioID}]; h != nil {
		h.running = false
	}
}

// pendingFor reports whether a lead has enrollments not written yet.
func (r *enroller) pendingFor(leadID int64) bool { return r.waiting[leadID] }

// flush writes the pending enrollments, their enrolled events and their first step
// jobs, and returns how many it wrote. One that the database refuses (the lead runs in
// the scenario already: another process enrolled it meanwhile) is marked ended.
func (r *enroller) flush(ctx context.Context) (int, error) {
	if len(r.pending) == 0 {
		return 0, nil
	}
	n := len(r.pending)
	leadIDs := make([]int64, n)
	scenarios, versions, steps := make([]string, n), make([]string, n), make([]string, n)
	for i, p := range r.pending {
		leadIDs[i], scenarios[i], versions[i], steps[i] = p.en.LeadID, p.en.ScenarioID, p.en.Version, p.en.Step
	}
	rows, err := r.tx.Query(ctx, `INSERT INTO enrollments (lead_id, scenario_id, version, step, step_at, started_at)
		SELECT x.lead_id, x.scenario_id, x.version, x.step, $5, $5
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS x(lead_id, scenario_id, version, step)
		ON CONFLICT DO NOTHING RETURNING id, lead_id, scenario_id`, leadIDs, scenarios, versions, steps, r.now)
	if err != nil {
		return 0, fmt.Errorf("enroll %d leads: %w", n, err)
	}
	ids := make(map[enrollKey]int64, n)
	var k enrollKey
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &k.leadID, &k.scenario}, func() error {
		ids[k] = id
		return nil
	}); err != nil {
		return 0, fmt.Errorf("enroll %d leads: %w", n, err)
	}
	events := make([]lead.Observed, 0, len(ids))
	jobs := make([]river.InsertManyParams, 0, len(ids))
	for _, p := range r.pending {
		en := p.en
		id, ok := ids[enrollKey{en.LeadID, en.ScenarioID}]
		if !ok {
			en.Ended = true
			continue
		}
		en.ID = id
		props := map[string]any{"scenario": en.ScenarioID, "version": en.Version, "enrollment_id": id}
		if p.eventID != 0 {
			props["event_id"] = p.eventID
		}
		events = append(events, lead.Observed{LeadID: en.LeadID, Type: "enrolled", Properties: props})
		jobs = append(jobs, river.InsertManyParams{Args: StepArgs{EnrollmentID: id}})
		r.e.log.Info("lead enrolled", "lead_id", en.LeadID, "scenario", en.ScenarioID, "version", en.Version, "enrollment_id", id)
	}
	r.pending = r.pending[:0]
	clear(r.waiting)
	if len(jobs) == 0 {
		return 0, nil
	}
	if err := lead.AppendEvents(ctx, r.tx, events); err != nil {
		return 0, err
	}
	c, err := r.e.queue(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := c.InsertManyTx(ctx, r.tx, jobs); err != nil {
		return 0, fmt.Errorf("first steps of %d enrollments: %w", len(jobs), err)
	}
	return len(jobs), nil
}
