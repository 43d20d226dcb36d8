package mail

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FrequencyCap is the most marketing messages one lead gets in any 24 hours and in
// any 7 days, whichever scenarios send them. Messages of templates marked
// transactional (mail the lead asked for, sales alerts) neither count nor wait. A
// message counts from when it is queued, so two scenarios sending on the same day
// share the day's allowance. Zero is no limit.
type FrequencyCap struct {
	PerDay, PerWeek int
}

// DefaultFrequencyCap is the cap of `nurture serve` unless configured: two marketing
// messages a day and five a week lets a five-day course run its course and a second
// scenario mail on the same day, while a loop that sends stops at the second mail.
var DefaultFrequencyCap = FrequencyCap{PerDay: 2, PerWeek: 5}

// ParseFrequencyCap reads "2/day,5/week", either part alone ("3/week"), or "off".
func ParseFrequencyCap(s string) (FrequencyCap, error) {
	var c FrequencyCap
	s = strings.TrimSpace(s)
	if s == "off" {
		return c, nil
	}
	if s == "" {
		return c, errors.New(`empty: write "2/day,5/week", "3/week" or "off"`)
	}
	for part := range strings.SplitSeq(s, ",") {
		n, per, ok := strings.Cut(strings.TrimSpace(part), "/")
		v, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil || v < 1 {
			return FrequencyCap{}, fmt.Errorf(`%q is not a count such as "2/day" or "5/week"`, part)
		}
		switch strings.TrimSpace(per) {
		case "day":
			if c.PerDay != 0 {
				return FrequencyCap{}, errors.New("the daily cap is given twice")
			}
			c.PerDay = v
		case "week":
			if c.PerWeek != 0 {
				return FrequencyCap{}, errors.New("the weekly cap is given twice")
			}
			c.PerWeek = v
		default:
			return FrequencyCap{}, fmt.Errorf(`%q: a cap is per day or per week ("2/day", "5/week")`, part)
		}
	}
	if c.PerDay > 0 && c.PerWeek > 0 && c.PerDay > c.PerWeek {
		return FrequencyCap{}, fmt.Errorf("%d a day is more than the %d a week allowed", c.PerDay, c.PerWeek)
	}
	return c, nil
}

// String is the cap as ParseFrequencyCap reads it.
func (c FrequencyCap) String() string {
	var parts []string
	if c.PerDay > 0 {
		parts = append(parts, strconv.Itoa(c.PerDay)+"/day")
	}
	if c.PerWeek > 0 {
		parts = append(parts, strconv.Itoa(c.PerWeek)+"/week")
	}
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ",")
}

// next returns the earliest time at or after now when one more message keeps within
// the cap, given the times of the lead's marketing messages, latest first.
func (c FrequencyCap) next(sent []time.Time, now time.Time) time.Time {
	until := now
	for _, limit := range []struct {
		n      int
		window time.Duration
	}{{c.PerDay, 24 * time.Hour}, {c.PerWeek, 7 * 24 * time.Hour}} {
		if limit.n <= 0 || len(sent) < limit.n {
			continue
		}
		// The n-th latest message must leave the window before another may come.
		if free := sent[limit.n-1].Add(limit.window); free.After(until) {
			until = free
		}
	}
	return until
}

// capLockClass is the first key of the advisory locks that serialise the frequency
// cap's decisions per lead (the two-key form, apart from the single-key locks of
// migrations and the dispatcher).
const capLockClass = 0x6e63 // "nc"

// LeadCap is the frequency cap of one lead within one transaction: the send steps
// running in it count their messages in, so that two of them in one run share the
// allowance too. It takes the lead's lock on first use and holds it until the
// transaction ends, so that two transactions sending to the lead one after the other
// each see the other's messages: they cannot both take the last place.
type LeadCap struct {
	ctx    context.Context
	tx     pgx.Tx
	m      *Mailer
	leadID int64

	sent   []time.Time // latest first; nil until read
	heldAt time.Time
}

// Cap returns the frequency cap of the lead for transaction tx. The messages it lets
// through must be queued (Enqueue) in tx.
func (m *Mailer) Cap(ctx context.Context, tx pgx.Tx, leadID int64) *LeadCap {
	return &LeadCap{ctx: ctx, tx: tx, m: m, leadID: leadID}
}

// Reserve counts a message of template for the lead at now and returns the zero time;
// when the cap allows no marketing message now, it returns the earliest time one
// may go and counts nothing. A transactional template is always let through,
// uncounted.
func (c *LeadCap) Reserve(template string, now time.Time) (time.Time, error) {
	limit := c.m.cfg.Cap
	if limit == (FrequencyCap{}) || c.m.cfg.Templates().Transactional(template) {
		return time.Time{}, nil
	}
	if c.sent == nil {
		if err := c.read(now); err != nil {
			return time.Time{}, fmt.Errorf("frequency cap of lead %d: %w", c.leadID, err)
		}
	}
	if until := limit.next(c.sent, now); until.After(now) {
		c.heldAt = until
		return until, nil
	}
	c.sent = append([]time.Time{now}, c.sent...)
	return time.Time{}, nil
}

// Held returns the time the last Reserve that held a message back named, or zero.
func (c *LeadCap) Held() time.Time { return c.heldAt }

// read locks the lead's cap and reads its marketing messages of the last 7 days.
// Messages never delivered (suppressed, failed) give their place back.
func (c *LeadCap) read(now time.Time) error {
	if _, err := c.tx.Exec(c.ctx, `SELECT pg_advisory_xact_lock($1, hashint8($2))`, capLockClass, c.leadID); err != nil {
		return err
	}
	rows, err := c.tx.Query(c.ctx, `SELECT created_at FROM messages
		WHERE lead_id = $1 AND NOT transactional AND created_at > $2 AND status NOT IN ('suppressed', 'failed')
		ORDER BY created_at DESC`, c.leadID, now.Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	sent, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return err
	}
	c.sent = append(make([]time.Time, 0, len(sent)+1), sent...)
	return nil
}
