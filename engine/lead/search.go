package lead

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Orders of a lead search.
const (
	// SortCreated is newest first.
	SortCreated = "created"
	// SortScore is highest score first.
	SortScore = "score"
)

// GradeNames lists every grade, hottest first.
var GradeNames = []string{"hot", "warm", "cold"}

// Search selects a page of leads for the console's list. Every field is checked
// against the values it may take: nothing from it reaches the SQL but as a
// parameter, and the order is one of two fixed clauses.
type Search struct {
	// Text finds leads whose name, company or email contains each of its
	// whitespace-separated words (any case for Latin letters).
	Text string
	// Stage, Grade and Tag, when not empty, keep the leads with that stage, grade
	// or tag.
	Stage, Grade, Tag string
	// OwnerID, when not zero, keeps the leads of that owner.
	OwnerID int64
	// Sort is SortCreated or SortScore. Defaults to SortCreated.
	Sort string
	// After is the Next of the page before, "" for the first page.
	After string
	// Limit is the most leads on a page. Defaults to 50.
	Limit int
}

// SearchPage is a page of leads and the cursor of the next, "" after the last.
type SearchPage struct {
	Leads []*Lead
	Next  string
}

// searchOrders are the orders a search may use, each with its keyset condition
// (on the parameters of the last row's sort key and ID) and its ORDER BY.
var searchOrders = map[string]struct{ after, orderBy string }{
	SortCreated: {`(created_at, id) < (%s::timestamptz, %s::bigint)`, `created_at DESC, id DESC`},
	SortScore:   {`(score, id) < (%s::integer, %s::bigint)`, `score DESC, id DESC`},
}

// maxSearchWords bounds the words of a text search, each a condition.
const maxSearchWords = 5

// SearchLeads returns a page of the leads s selects; a value s may not hold is a
// *FieldError. Text is matched with ILIKE on the name, company and email: a
// sequential filter over the page's index order, which stops at the page's last row,
// so a common word is quick and a word no lead has reads the whole table.
func SearchLeads(ctx context.Context, db DB, s Search) (*SearchPage, error) {
	if s.Sort == "" {
		s.Sort = SortCreated
	}
	order, ok := searchOrders[s.Sort]
	if !ok {
		return nil, &FieldError{Field: "sort", Reason: "must be created or score"}
	}
	if s.Stage != "" && !slices.Contains(Stages, s.Stage) {
		return nil, &FieldError{Field: "stage", Reason: "is not a stage"}
	}
	if s.Grade != "" && !slices.Contains(GradeNames, s.Grade) {
		return nil, &FieldError{Field: "grade", Reason: "must be hot, warm or cold"}
	}
	if s.Limit <= 0 || s.Limit > 500 {
		s.Limit = 50
	}
	if utf8.RuneCountInString(s.Text) > 200 || utf8.RuneCountInString(s.Tag) > 200 {
		return nil, &FieldError{Field: "q", Reason: "is too long"}
	}
	where := []string{"true"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if s.After != "" {
		key, afterID, err := decodeCursor(s.Sort, s.After)
		if err != nil {
			return nil, &FieldError{Field: "after", Reason: "is not a page of this list"}
		}
		where = append(where, fmt.Sprintf(order.after, arg(key), arg(afterID)))
	}
	words := strings.Fields(s.Text)
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	for _, w := range words {
		p := arg("%" + likeEscaper.Replace(w) + "%")
		where = append(where, fmt.Sprintf(`(last_name || first_name ILIKE %[1]s OR last_name || ' ' || first_name ILIKE %[1]s
			OR company ILIKE %[1]s OR email ILIKE %[1]s)`, p))
	}
	if s.Stage != "" {
		where = append(where, "stage = "+arg(s.Stage))
	}
	if s.Grade != "" {
		where = append(where, "grade = "+arg(s.Grade))
	}
	if s.Tag != "" {
		where = append(where, arg(s.Tag)+" = ANY(tags)")
	}
	if s.OwnerID != 0 {
		where = append(where, "owner_id = "+arg(s.OwnerID))
	}
	limit := arg(s.Limit + 1)
	rows, err := db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order.orderBy+` LIMIT `+limit, args...)
	if err != nil {
		return nil, fmt.Errorf("search leads: %w", err)
	}
	leads, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Lead])
	if err != nil {
		return nil, fmt.Errorf("search leads: %w", err)
	}
	page := &SearchPage{Leads: leads}
	if len(leads) > s.Limit {
		page.Leads = leads[:s.Limit]
		page.Next = encodeCursor(s.Sort, page.Leads[s.Limit-1])
	}
	return page, nil
}

// A cursor is the last row's sort key and ID, base64url: "score:id" or
// "created_unix_micro:id".
func encodeCursor(sort string, l *Lead) string {
	k := strconv.Itoa(l.Score)
	if sort == SortCreated {
		k = strconv.FormatInt(l.CreatedAt.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(k + ":" + strconv.FormatInt(l.ID, 10)))
}

func decodeCursor(sort, c string) (any, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, 0, err
	}
	k, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, 0, fmt.Errorf("cursor %q has no ID", raw)
	}
	n, err := strconv.ParseInt(k, 10, 64)
	if err != nil {
		return nil, 0, err
	}
	i, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, 0, err
	}
	if sort == SortCreated {
		return time.UnixMicro(n), i, nil
	}
	if n < -1<<31 || n >= 1<<31 {
		return nil, 0, fmt.Errorf("score %d out of range", n)
	}
	return int32(n), i, nil
}
