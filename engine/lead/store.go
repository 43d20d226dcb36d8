package lead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is a pool or a transaction: store functions that write open a transaction on it
// (a savepoint when it is one already).
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Outcome is what an upsert did to one lead.
type Outcome struct {
	ID      int64
	Email   string
	Created bool
	// Changed names the fields an update changed; it is empty when nothing changed
	// (and then no event was recorded).
	Changed []string
}

// Upsert creates or updates the leads of inputs by email (case-insensitively) in one
// transaction, recording lead_created or lead_updated events that carry via, the
// channel that made the change ("api", "import", …). Inputs naming the same email are
// merged in order. A lead that would not change is not written at all, so importing
// the same file twice changes nothing. Upsert never touches an unsubscribe.
//
// The outcomes are in the order of inputs, one per input. An input that is invalid,
// or that would take its lead's attributes over MaxAttributes or MaxAttributesBytes
// (counting what is stored), fails the whole upsert with an *InputError saying which
// it was, so that a caller with a batch can set it aside and try the others again.
func Upsert(ctx context.Context, db DB, via string, inputs []Input) ([]Outcome, error) {
	for i := range inputs {
		if err := inputs[i].Validate(); err != nil {
			return nil, &InputError{Index: i, Err: err}
		}
	}
	var out []Outcome
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		out, err = upsertTx(ctx, tx, via, inputs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert leads: %w", err)
	}
	return out, nil
}

// InputError is an upsert refused because of one of its inputs; nothing was written.
type InputError struct {
	// Index is the input's position in the upsert, from 0.
	Index int
	// Err says what is wrong, usually a *FieldError.
	Err error
}

func (e *InputError) Error() string { return fmt.Sprintf("lead %d: %v", e.Index+1, e.Err) }

func (e *InputError) Unwrap() error { return e.Err }

func upsertTx(ctx context.Context, tx pgx.Tx, via string, inputs []Input) ([]Outcome, error) {
	// One merged input per lead, in order of first appearance.
	var keys []string
	merged := map[string]*Input{}
	for _, in := range inputs {
		k := strings.ToLower(in.Email)
		if m, ok := merged[k]; ok {
			m.merge(in)
			continue
		}
		c := in
		c.Attributes = maps.Clone(in.Attributes)
		merged[k] = &c
		keys = append(keys, k)
	}

	existing, err := lockByEmail(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	if err := checkAttributeTotals(inputs, existing); err != nil {
		return nil, err
	}
	results := make(map[string]*Outcome, len(keys))
	var updates, creates []row
	for _, k := range keys {
		in := merged[k]
		cur, ok := existing[k]
		if !ok {
			creates = append(creates, newRow(in))
			continue
		}
		r, changed := cur.apply(in)
		results[k] = &Outcome{ID: cur.ID, Email: cur.Email, Changed: changed}
		if len(changed) > 0 {
			updates = append(updates, r)
		}
	}
	if err := updateRows(ctx, tx, updates); err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, creates); err != nil {
		return nil, err
	}
	for _, r := range creates {
		results[strings.ToLower(r.Email)] = &Outcome{ID: r.ID, Email: r.Email, Created: true}
	}

	if err := applyBANT(ctx, tx, keys, merged, results); err != nil {
		return nil, err
	}

	var events []newEvent
	for _, k := range keys {
		o := results[k]
		switch {
		case o.Created:
			props := map[string]any{"via": via}
			if s := merged[k].Source; s != nil && *s != "" {
				props["source"] = *s
			}
			events = append(events, newEvent{LeadID: o.ID, Type: TypeLeadCreated, Properties: props})
		case len(o.Changed) > 0:
			events = append(events, newEvent{LeadID: o.ID, Type: TypeLeadUpdated, Properties: map[string]any{"via": via, "changed": o.Changed}})
		}
	}
	if _, err := insertEvents(ctx, tx, events, false); err != nil {
		return nil, err
	}

	out := make([]Outcome, len(inputs))
	for i, in := range inputs {
		out[i] = *results[strings.ToLower(in.Email)]
	}
	return out, nil
}

// checkAttributeTotals finds the first input that would take its lead's attributes
// over MaxAttributes or MaxAttributesBytes, counting what the lead stores and the
// inputs for it before this one. A lead already over a limit (stored before there
// were limits) may still shrink.
func checkAttributeTotals(inputs []Input, existing map[string]*Lead) error {
	type total struct {
		attrs map[string]any
		size  int
	}
	totals := map[string]*total{}
	for i, in := range inputs {
		if len(in.Attributes) == 0 {
			continue // nothing to add: the common case costs nothing
		}
		k := strings.ToLower(in.Email)
		t, ok := totals[k]
		if !ok {
			t = &total{attrs: map[string]any{}}
			if l := existing[k]; l != nil && l.Attributes != nil {
				t.attrs = maps.Clone(l.Attributes)
			}
			t.size = jsonSize(t.attrs)
			totals[k] = t
		}
		keysBefore := len(t.attrs)
		for key, v := range in.Attributes {
			if v == nil {
				delete(t.attrs, key)
			} else {
				t.attrs[key] = v
			}
		}
		sizeBefore := t.size
		t.size = jsonSize(t.attrs)
		var reason string
		switch {
		case len(t.attrs) > MaxAttributes && len(t.attrs) > keysBefore:
			reason = fmt.Sprintf("would give the lead %d attributes; a lead has at most %d", len(t.attrs), MaxAttributes)
		case t.size > MaxAttributesBytes && t.size > sizeBefore:
			reason = fmt.Sprintf("would make the lead's attributes %d bytes together; a lead has at most %d", t.size, MaxAttributesBytes)
		default:
			continue
		}
		return &InputError{Index: i, Err: &FieldError{Field: "attributes", Reason: reason}}
	}
	return nil
}

// applyBANT merges the BANT of inputs into their leads, and names "bant" among the
// changes of a lead it changed.
func applyBANT(ctx context.Context, tx pgx.Tx, keys []string, merged map[string]*Input, results map[string]*Outcome) error {
	for _, k := range keys {
		in, o := merged[k], results[k]
		if len(in.BANT) == 0 {
			continue
		}
		patch := map[string]any{}
		for bk, v := range in.BANT {
			if v == nil || *v == "" {
				patch[bk] = nil
			} else {
				patch[bk] = *v
			}
		}
		b, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		// Keys set to null are dropped, the others merged over what is stored.
		tag, err := tx.Exec(ctx, `UPDATE leads SET bant = n.bant, updated_at = now()
			FROM (SELECT id, jsonb_strip_nulls(bant || $2::jsonb) AS bant FROM leads WHERE id = $1) n
			WHERE leads.id = n.id AND leads.bant IS DISTINCT FROM n.bant`, o.ID, string(b))
		if err != nil {
			return fmt.Errorf("bant of lead %d: %w", o.ID, err)
		}
		if tag.RowsAffected() > 0 && !o.Created {
			o.Changed = append(o.Changed, "bant")
		}
	}
	return nil
}

// merge lays a later input for the same lead over this one.
func (in *Input) merge(later Input) {
	for i, f := range later.textFields() {
		if *f.value != nil {
			*in.textFields()[i].value = *f.value
		}
	}
	if later.Employees != nil {
		in.Employees = later.Employees
	}
	if later.Consent != nil {
		in.Consent = later.Consent
	}
	for _, t := range later.Tags {
		if !slices.Contains(in.Tags, t) {
			in.Tags = append(in.Tags, t)
		}
	}
	if later.Attributes != nil && in.Attributes == nil {
		in.Attributes = map[string]any{}
	}
	maps.Copy(in.Attributes, later.Attributes)
	if later.BANT != nil && in.BANT == nil {
		in.BANT = map[string]*string{}
	}
	maps.Copy(in.BANT, later.BANT)
}

// row is a lead's writable columns: what an upsert inserts or updates.
type row struct {
	ID             int64
	Email          string
	FirstName      string
	LastName       string
	Company        string
	Department     string
	Title          string
	Phone          string
	Employees      *int
	Industry       string
	Country        string
	Timezone       string
	Source         string
	Attributes     map[string]any
	Tags           []string
	Consent        string
	ConsentChanged bool
}

// columns turns rows into one array per column, the shape unnest() takes: far
// quicker for PostgreSQL than a JSON recordset. Attributes and tags, whose values
// are themselves structured, travel as JSON text.
type columns struct {
	id                                                             []int64
	email, firstName, lastName, company, department, title, phone  []string
	industry, country, timezone, source, attributes, tags, consent []string
	employees                                                      []*int32
	consentChanged                                                 []bool
}

func toColumns(rows []row) (*columns, error) {
	n := len(rows)
	c := &columns{
		id: make([]int64, n), email: make([]string, n), firstName: make([]string, n),
		lastName: make([]string, n), company: make([]string, n), department: make([]string, n),
		title: make([]string, n), phone: make([]string, n), industry: make([]string, n),
		country: make([]string, n), timezone: make([]string, n), source: make([]string, n),
		attributes: make([]string, n), tags: make([]string, n), consent: make([]string, n),
		employees: make([]*int32, n), consentChanged: make([]bool, n),
	}
	for i, r := range rows {
		c.id[i], c.email[i], c.firstName[i], c.lastName[i] = r.ID, r.Email, r.FirstName, r.LastName
		c.company[i], c.department[i], c.title[i], c.phone[i] = r.Company, r.Department, r.Title, r.Phone
		c.industry[i], c.country[i], c.timezone[i], c.source[i] = r.Industry, r.Country, r.Timezone, r.Source
		c.consent[i], c.consentChanged[i] = r.Consent, r.ConsentChanged
		if r.Employees != nil {
			e := int32(*r.Employees)
			c.employees[i] = &e
		}
		c.attributes[i] = "{}"
		if len(r.Attributes) > 0 {
			b, err := json.Marshal(r.Attributes)
			if err != nil {
				return nil, fmt.Errorf("lead %s: attributes: %w", r.Email, err)
			}
			c.attributes[i] = string(b)
		}
		c.tags[i] = "[]"
		if len(r.Tags) > 0 {
			b, err := json.Marshal(r.Tags)
			if err != nil {
				return nil, err
			}
			c.tags[i] = string(b)
		}
	}
	return c, nil
}

func (c *columns) args() []any {
	return []any{c.id, c.email, c.firstName, c.lastName, c.company, c.department, c.title,
		c.phone, c.employees, c.industry, c.country, c.timezone, c.source, c.attributes,
		c.tags, c.consent, c.consentChanged}
}

// tagsFromJSON turns the JSON tags of a row into text[], skipping the subquery for
// the common row that has none.
const tagsFromJSON = `CASE WHEN x.tags = '[]' THEN '{}'::text[] ELSE ARRAY(SELECT jsonb_array_elements_text(x.tags::jsonb)) END`

const unnestColumns = `unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::integer[], $10::text[], $11::text[], $12::text[], $13::text[],
		$14::text[], $15::text[], $16::text[], $17::boolean[])
	AS x(id, email, first_name, last_name, company, department, title, phone, employees,
		industry, country, timezone, source, attributes, tags, consent, consent_changed)`

func newRow(in *Input) row {
	r := row{Email: in.Email, Attributes: map[string]any{}, Tags: []string{}, Consent: ConsentUnknown}
	r.set(in)
	r.ConsentChanged = r.Consent != ConsentUnknown
	return r
}

// set applies an input's known fields to the row.
func (r *row) set(in *Input) {
	for _, f := range r.textFields(in) {
		if f.in != nil {
			*f.col = *f.in
		}
	}
	if in.Employees != nil {
		r.Employees = in.Employees
	}
	if in.Consent != nil {
		r.Consent = *in.Consent
	}
	for _, t := range in.Tags {
		if !slices.Contains(r.Tags, t) {
			r.Tags = append(r.Tags, t)
		}
	}
	for k, v := range in.Attributes {
		if v == nil {
			delete(r.Attributes, k)
		} else {
			r.Attributes[k] = v
		}
	}
}

type rowField struct {
	name string
	col  *string
	in   *string
}

func (r *row) textFields(in *Input) []rowField {
	source := in.Source
	if r.Source != "" {
		source = nil // first touch wins
	}
	return []rowField{
		{"first_name", &r.FirstName, in.FirstName}, {"last_name", &r.LastName, in.LastName},
		{"company", &r.Company, in.Company}, {"department", &r.Department, in.Department},
		{"title", &r.Title, in.Title}, {"phone", &r.Phone, in.Phone},
		{"industry", &r.Industry, in.Industry}, {"country", &r.Country, in.Country},
		{"timezone", &r.Timezone, in.Timezone}, {"source", &r.Source, source},
	}
}

// apply returns the stored lead with the input laid over it and the names of the
// fields that changed.
func (l *Lead) apply(in *Input) (row, []string) {
	r := row{
		ID: l.ID, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Company: l.Company,
		Department: l.Department, Title: l.Title, Phone: l.Phone, Employees: l.Employees,
		Industry: l.Industry, Country: l.Country, Timezone: l.Timezone, Source: l.Source,
		Attributes: maps.Clone(l.Attributes), Tags: slices.Clone(l.Tags), Consent: l.Consent,
	}
	if r.Attributes == nil {
		r.Attributes = map[string]any{}
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	before := r
	before.Attributes = l.Attributes
	r.set(in)

	var changed []string
	for i, f := range r.textFields(in) {
		if *f.col != *before.textFields(in)[i].col {
			changed = append(changed, f.name)
		}
	}
	if !equalInt(r.Employees, before.Employees) {
		changed = append(changed, "employees")
	}
	if !attributesEqual(r.Attributes, before.Attributes) {
		changed = append(changed, "attributes")
	}
	if len(r.Tags) != len(before.Tags) {
		changed = append(changed, "tags")
	}
	if r.Consent != before.Consent {
		r.ConsentChanged = true
		changed = append(changed, "consent")
	}
	return r, changed
}

func equalInt(a, b *int) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// attributesEqual compares attribute maps as their JSON would: values that came from
// the database and values that came from a request differ in Go type only.
func attributesEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !jsonEqual(av, bv) {
			return false
		}
	}
	return true
}

func lockByEmail(ctx context.Context, tx pgx.Tx, keys []string) (map[string]*Lead, error) {
	rows, err := tx.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE lower(email) = ANY($1)
		ORDER BY lower(email) FOR UPDATE`, keys)
	if err != nil {
		return nil, err
	}
	leads, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Lead])
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	m := make(map[string]*Lead, len(leads))
	for _, l := range leads {
		m[strings.ToLower(l.Email)] = l
	}
	return m, nil
}

func updateRows(ctx context.Context, tx pgx.Tx, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	cols, err := toColumns(rows)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE leads l SET
		first_name = x.first_name, last_name = x.last_name, company = x.company,
		department = x.department, title = x.title, phone = x.phone, employees = x.employees,
		industry = x.industry, country = x.country, timezone = x.timezone, source = x.source,
		attributes = x.attributes::jsonb, tags = `+tagsFromJSON+`,
		consent = x.consent,
		consent_at = CASE WHEN x.consent_changed THEN now() ELSE l.consent_at END,
		updated_at = now()
		FROM `+unnestColumns+` WHERE l.id = x.id`, cols.args()...)
	if err != nil {
		return fmt.Errorf("update leads: %w", err)
	}
	return nil
}

// copyThreshold is the batch size from which COPY beats an INSERT: COPY costs a few
// more round trips, then far less per row.
const copyThreshold = 50

// insertRows creates leads, setting each row's ID. Large batches go by COPY, the
// fastest way into PostgreSQL, with IDs drawn from the table's sequence first since
// COPY returns none.
// A lead that another transaction created since lockByEmail read makes the COPY fail
// on the unique email index; the caller retries (see isEmailTaken).
func insertRows(ctx context.Context, tx pgx.Tx, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	if len(rows) < copyThreshold {
		cols, err := toColumns(rows)
		if err != nil {
			return err
		}
		res, err := tx.Query(ctx, `INSERT INTO leads (email, first_name, last_name, company, department,
				title, phone, employees, industry, country, timezone, source, attributes, tags, consent, consent_at)
			SELECT x.email, x.first_name, x.last_name, x.company, x.department, x.title, x.phone,
				x.employees, x.industry, x.country, x.timezone, x.source, x.attributes::jsonb,
				`+tagsFromJSON+`, x.consent, CASE WHEN x.consent_changed THEN now() END
			FROM `+unnestColumns+`
			RETURNING id, lower(email)`, cols.args()...)
		if err != nil {
			return fmt.Errorf("insert leads: %w", err)
		}
		ids := make(map[string]int64, len(rows))
		var id int64
		var key string
		if _, err := pgx.ForEachRow(res, []any{&id, &key}, func() error {
			ids[key] = id
			return nil
		}); err != nil {
			return fmt.Errorf("insert leads: %w", err)
		}
		for i := range rows {
			rows[i].ID = ids[strings.ToLower(rows[i].Email)]
		}
		return nil
	}
	ids, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1)`, len(rows))
	if err != nil {
		return fmt.Errorf("insert leads: %w", err)
	}
	i := 0
	var id int64
	_, err = pgx.ForEachRow(ids, []any{&id}, func() error {
		rows[i].ID = id
		i++
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert leads: %w", err)
	}
	now := time.Now()
	values := make([][]any, len(rows))
	for i, r := range rows {
		var consentAt *time.Time
		if r.ConsentChanged {
			consentAt = &now
		}
		var employees *int32
		if r.Employees != nil {
			e := int32(*r.Employees)
			employees = &e
		}
		values[i] = []any{r.ID, r.Email, r.FirstName, r.LastName, r.Company, r.Department, r.Title,
			r.Phone, employees, r.Industry, r.Country, r.Timezone, r.Source, r.Attributes, r.Tags,
			r.Consent, consentAt}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"leads"}, []string{"id", "email", "first_name", "last_name",
		"company", "department", "title", "phone", "employees", "industry", "country", "timezone",
		"source", "attributes", "tags", "consent", "consent_at"}, pgx.CopyFromRows(values))
	if err != nil {
		return fmt.Errorf("insert leads: %w", err)
	}
	return nil
}

// isEmailTaken reports whether err is a lead created by another transaction between
// our read and our insert: the whole upsert is then run again, and finds it.
func isEmailTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "leads_email_key"
}

// inTx runs fn in a transaction (a savepoint inside one), again when it lost a race
// to create a lead.
func inTx(ctx context.Context, db DB, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db, fn)
		if attempt < 5 && isEmailTaken(err) {
			continue
		}
		return err
	}
}

const leadColumns = `id, email, first_name, last_name, company, department, title, phone, employees,
	industry, country, timezone, source, attributes, tags, consent, consent_at, unsubscribed_at,
	stage, stage_changed_at, profile_score, behavior_score, score, grade, owner_id, bant, created_at, updated_at`

// FindLeadByID returns the lead with the given ID, or ErrNotFound.
func FindLeadByID(ctx context.Context, db DB, id int64) (*Lead, error) {
	rows, err := db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("find lead %d: %w", id, err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Lead])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find lead %d: %w", id, err)
	}
	return l, nil
}

// FindLeadsByID returns the leads of ids that exist, in ID order.
func FindLeadsByID(ctx context.Context, db DB, ids []int64) ([]*Lead, error) {
	rows, err := db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("find leads: %w", err)
	}
	leads, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Lead])
	if err != nil {
		return nil, fmt.Errorf("find leads: %w", err)
	}
	return leads, nil
}

// FindLeadByEmail returns the lead with the given email, whatever its case, or
// ErrNotFound.
func FindLeadByEmail(ctx context.Context, db DB, email string) (*Lead, error) {
	rows, err := db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE lower(email) = lower($1)`, email)
	if err != nil {
		return nil, fmt.Errorf("find lead: %w", err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Lead])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find lead: %w", err)
	}
	return l, nil
}

// Filter selects leads for FindLeads.
type Filter struct {
	// AfterID starts after this lead ID (keyset paging, in ID order).
	AfterID int64
	// Limit is the most leads returned. Defaults to 100.
	Limit int
	// Subscribed leaves out unsubscribed leads.
	Subscribed bool
}

// FindLeads returns leads in ID order.
func FindLeads(ctx context.Context, db DB, f Filter) ([]*Lead, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE id > $1 AND (NOT $2 OR unsubscribed_at IS NULL)
		ORDER BY id LIMIT $3`, f.AfterID, f.Subscribed, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("find leads: %w", err)
	}
	leads, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Lead])
	if err != nil {
		return nil, fmt.Errorf("find leads: %w", err)
	}
	return leads, nil
}
