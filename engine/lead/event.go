package lead

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event types nurture records itself. Clients may send
// form_submitted, page_visited and custom types; the others describe what nurture did
// or saw and are refused from outside, so that nobody can fake an open or a bounce.
const (
	TypeLeadCreated   = "lead_created"
	TypeLeadUpdated   = "lead_updated"
	TypeFormSubmitted = "form_submitted"
	TypePageVisited   = "page_visited"
)

var systemTypes = map[string]bool{
	TypeLeadCreated: true, TypeLeadUpdated: true, "email_sent": true, "email_opened": true,
	"email_clicked": true, "email_bounced": true, "email_complained": true,
	"unsubscribed": true, "enrolled": true, "scenario_exited": true, "score_changed": true,
	"stage_changed": true, "grade_changed": true, "score_crossed": true, "escalation_requested": true, "lead_assigned": true,
	"alert_sent": true, "lead_accepted": true, "lead_rejected": true,
}

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Event is one thing that happened to a lead.
type Event struct {
	ID         int64          `json:"id" db:"id"`
	LeadID     int64          `json:"lead_id" db:"lead_id"`
	Type       string         `json:"type" db:"type"`
	OccurredAt time.Time      `json:"occurred_at" db:"occurred_at"`
	RecordedAt time.Time      `json:"recorded_at" db:"recorded_at"`
	Properties map[string]any `json:"properties" db:"properties"`
}

// ClientEvent is an event reported from outside (a web form, a site's tracking
// script, another system) about the lead with the given email.
type ClientEvent struct {
	Type string
	// OccurredAt is when it happened; zero means now.
	OccurredAt time.Time
	Properties map[string]any
}

// Validate checks a client event against the rules for its type: form_submitted needs
// a form, page_visited an http(s) url; system types are refused.
func (e *ClientEvent) Validate(now time.Time) error {
	switch {
	case e.Type == "":
		return &FieldError{Field: "type", Reason: "is required"}
	case !typePattern.MatchString(e.Type):
		return &FieldError{Field: "type", Reason: fmt.Sprintf("%.70q is not an event type (lower-case letters, digits and _ . -, starting with a letter, at most 64)", e.Type)}
	case systemTypes[e.Type]:
		return &FieldError{Field: "type", Reason: fmt.Sprintf("%s is recorded by nurture itself and cannot be sent", e.Type)}
	}
	if e.OccurredAt.After(now.Add(5 * time.Minute)) {
		return &FieldError{Field: "occurred_at", Reason: "is in the future"}
	}
	if err := checkAttributes(e.Properties, "props", "a property", "properties"); err != nil {
		return err
	}
	str := func(key string) (string, bool) {
		s, ok := e.Properties[key].(string)
		return s, ok && s != ""
	}
	switch e.Type {
	case TypeFormSubmitted:
		form, ok := str("form")
		if !ok {
			return &FieldError{Field: "form", Reason: "is required for form_submitted"}
		}
		if err := checkText(form); err != nil {
			return &FieldError{Field: "form", Reason: err.Error()}
		}
	case TypePageVisited:
		raw, ok := str("url")
		if !ok {
			return &FieldError{Field: "url", Reason: "is required for page_visited"}
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
			return &FieldError{Field: "url", Reason: fmt.Sprintf("%.80q is not an http or https URL", raw)}
		}
	}
	return nil
}

// RecordClientEvent records a client event for the lead of in, creating the lead (or
// updating it with what in knows) first, all in one transaction.
func RecordClientEvent(ctx context.Context, db DB, via string, in Input, e ClientEvent, now time.Time) (Outcome, Event, error) {
	if err := in.Validate(); err != nil {
		return Outcome{}, Event{}, err
	}
	if err := e.Validate(now); err != nil {
		return Outcome{}, Event{}, err
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	if e.Properties == nil {
		e.Properties = map[string]any{}
	}
	var outcome Outcome
	var ev Event
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		out, err := upsertTx(ctx, tx, via, []Input{in})
		if err != nil {
			return err
		}
		outcome = out[0]
		evs, err := insertEvents(ctx, tx, []newEvent{{LeadID: outcome.ID, Type: e.Type, OccurredAt: &e.OccurredAt, Properties: e.Properties}}, true)
		if err != nil {
			return err
		}
		ev = evs[0]
		return nil
	})
	if err != nil {
		return Outcome{}, Event{}, fmt.Errorf("record %s event: %w", e.Type, err)
	}
	return outcome, ev, nil
}

// newEvent is an event to insert; a nil OccurredAt means now.
type newEvent struct {
	LeadID     int64
	Type       string
	OccurredAt *time.Time
	Properties map[string]any
}

// insertEvents appends events to their leads' streams; with returning, it also
// returns them as stored.
func insertEvents(ctx context.Context, tx pgx.Tx, events []newEvent, returning bool) ([]Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if !returning && len(events) >= copyThreshold {
		// The events of upserts happen now: COPY them and let the column default say when.
		values := make([][]any, len(events))
		for i, e := range events {
			values[i] = []any{e.LeadID, e.Type, e.Properties}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"lead_id", "type", "properties"}, pgx.CopyFromRows(values))
		if err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		return nil, nil
	}
	ids := make([]int64, len(events))
	types := make([]string, len(events))
	times := make([]*time.Time, len(events))
	props := make([]string, len(events))
	for i, e := range events {
		ids[i], types[i], times[i] = e.LeadID, e.Type, e.OccurredAt
		b, err := json.Marshal(e.Properties)
		if err != nil {
			return nil, fmt.Errorf("event %s: properties: %w", e.Type, err)
		}
		props[i] = string(b)
	}
	const insert = `INSERT INTO events (lead_id, type, occurred_at, properties)
		SELECT x.lead_id, x.type, coalesce(x.occurred_at, now()), x.properties::jsonb
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS x(lead_id, type, occurred_at, properties)`
	if !returning {
		if _, err := tx.Exec(ctx, insert, ids, types, times, props); err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		return nil, nil
	}
	rows, err := tx.Query(ctx, insert+` RETURNING id, lead_id, type, occurred_at, recorded_at, properties`, ids, types, times, props)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Event])
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return out, nil
}

// Timeline returns the lead's latest events, newest first, at most limit of them.
func Timeline(ctx context.Context, db DB, leadID int64, limit int) ([]Event, error) {
	rows, err := db.Query(ctx, `SELECT id, lead_id, type, occurred_at, recorded_at, properties
		FROM events WHERE lead_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`, leadID, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline of lead %d: %w", leadID, err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByName[Event])
	if err != nil {
		return nil, fmt.Errorf("timeline of lead %d: %w", leadID, err)
	}
	return events, nil
}

// jsonEqual reports whether two values encode to the same JSON.
func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	var na, nb any
	if json.Unmarshal(ja, &na) != nil || json.Unmarshal(jb, &nb) != nil {
		return false
	}
	return reflect.DeepEqual(na, nb)
}

// AppendEvent records an event nurture observed about a lead (email_sent,
// unsubscribed, …) in the caller's transaction.
func AppendEvent(ctx context.Context, tx pgx.Tx, leadID int64, typ string, props map[string]any) error {
	if props == nil {
		props = map[string]any{}
	}
	_, err := insertEvents(ctx, tx, []newEvent{{LeadID: leadID, Type: typ, Properties: props}}, false)
	return err
}

// Observed is an event nurture observed about a lead, for AppendEvents.
type Observed struct {
	LeadID     int64
	Type       string
	Properties map[string]any
}

// AppendEvents records many observed events in the caller's transaction, in one
// statement.
func AppendEvents(ctx context.Context, tx pgx.Tx, events []Observed) error {
	out := make([]newEvent, len(events))
	for i, e := range events {
		if e.Properties == nil {
			e.Properties = map[string]any{}
		}
		out[i] = newEvent{LeadID: e.LeadID, Type: e.Type, Properties: e.Properties}
	}
	_, err := insertEvents(ctx, tx, out, false)
	return err
}
