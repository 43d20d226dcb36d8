package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/track"
)

// ErrUnknownMessage is a token for a message that does not exist, or a link it does
// not have.
var ErrUnknownMessage = errors.New("unknown message")

// burstLookback is how far back earlier hits are judged again with a new one.
const burstLookback = 10 * time.Minute

// Event types of tracking hits.
const (
	TypeOpened  = "email_opened"
	TypeClicked = "email_clicked"
)

// HitResult is what a recorded hit leads to.
type HitResult struct {
	// RedirectURL is the stored target of a clicked link; empty for opens and the
	// honeypot.
	RedirectURL string
	Judgement   track.Judgement
	LeadID      int64
}

// RecordHit records one hit; see HitRecorder for many at once.
func (m *Mailer) RecordHit(ctx context.Context, pool *pgxpool.Pool, tok track.Token, hit track.Hit) (HitResult, error) {
	req := &hitRequest{tok: tok, hit: hit}
	if err := m.recordBatch(ctx, pool, []*hitRequest{req}); err != nil {
		return HitResult{}, fmt.Errorf("record hit on message %d: %w", tok.MessageID, err)
	}
	return req.res, req.err
}

type hitRequest struct {
	tok  track.Token
	hit  track.Hit
	link storedLink // a click's link
	res  HitResult
	err  error
	done chan struct{}
}

// sentMessage is what judging a hit needs of its message.
type sentMessage struct {
	leadID   int64
	sentAt   time.Time
	links    []storedLink // its own: mail sent before link sets
	setLinks []storedLink // its set's, once its send is recorded
	earlier  []pastHit
	reqs     []*hitRequest
}

// recordBatch records hits in one transaction. Each hit becomes an event with its
// verdict; the recent hits of each message are judged again with the new ones (a
// honeypot hit reveals a scanner burst after the fact); and each message keeps its
// first human open and click. The messages' rows are locked, so the hits of one
// message are always judged together with all the others. A hit for an unknown
// message or link gets ErrUnknownMessage and records nothing.
//
// The transaction takes two round trips, pipelined: one locks the messages and reads
// their recent hits, the other writes the events and commits. Round trips, not the
// statements, are most of what a batch costs.
func (m *Mailer) recordBatch(ctx context.Context, pool *pgxpool.Pool, reqs []*hitRequest) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	defer func() {
		if err != nil {
			// Leave the connection usable; a failed rollback closes it on release.
			_, _ = conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	msgs, err := lockMessages(ctx, conn.Conn(), reqs)
	if err != nil {
		return err
	}
	var events []hitEvent
	var rejudged []pastHit
	var recount []int64 // messages whose earlier hits were judged anew
	var humanOpens, humanClicks []humanHit
	for id, sm := range msgs {
		hits := make([]track.Hit, 0, len(sm.earlier)+len(sm.reqs))
		for _, e := range sm.earlier {
			hits = append(hits, e.hit)
		}
		for _, r := range sm.reqs {
			hits = append(hits, r.hit)
		}
		judged := m.classifier.Judge(sm.sentAt, hits)
		for i, e := range sm.earlier {
			if judged[i].Verdict != e.verdict {
				e.verdict, e.reasons = judged[i].Verdict, judged[i].Reasons
				rejudged = append(rejudged, e)
				if !slices.Contains(recount, id) {
					recount = append(recount, id)
				}
			}
		}
		for i, r := range sm.reqs {
			r.res.Judgement = judged[len(sm.earlier)+i]
			events = append(events, newHitEvent(r, sm))
			if r.res.Judgement.Verdict != track.Human {
				continue
			}
			switch r.tok.Kind {
			case track.Open:
				humanOpens = append(humanOpens, humanHit{id, r.hit.At})
			case track.Click:
				humanClicks = append(humanClicks, humanHit{id, r.hit.At})
			}
		}
	}
	b := &pgx.Batch{}
	if err := queueHitEvents(b, events); err != nil {
		return err
	}
	for _, e := range rejudged {
		b.Queue(`UPDATE events SET properties = properties ||
			jsonb_build_object('verdict', $2::text, 'reasons', $3::jsonb, 'rejudged_at', now()) WHERE id = $1`,
			e.eventID, string(e.verdict), reasonsJSON(e.reasons))
	}
	for _, h := range []struct {
		column string
		hits   []humanHit
	}{{"first_open_at", humanOpens}, {"first_click_at", humanClicks}} {
		if len(h.hits) == 0 {
			continue
		}
		ids, ats := make([]int64, len(h.hits)), make([]time.Time, len(h.hits))
		for i, x := range h.hits {
			ids[i], ats[i] = x.messageID, x.at
		}
		b.Queue(`UPDATE messages m SET `+h.column+` = least(m.`+h.column+`, x.at)
			FROM (SELECT id, min(at) AS at FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at) GROUP BY id) x
			WHERE m.id = x.id AND (m.`+h.column+` IS NULL OR m.`+h.column+` > x.at)`, ids, ats)
	}
	if len(recount) > 0 {
		// A verdict changed: work the first human open and click out again.
		b.Queue(`UPDATE messages m SET
			first_open_at = (SELECT min(occurred_at) FROM events WHERE lead_id = m.lead_id AND type = 'email_opened'
				AND properties->>'message_id' = m.id::text AND properties->>'verdict' = 'human'),
			first_click_at = (SELECT min(occurred_at) FROM events WHERE lead_id = m.lead_id AND type = 'email_clicked'
				AND properties->>'message_id' = m.id::text AND properties->>'verdict' = 'human')
			WHERE id = ANY($1)`, recount)
	}
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record hits: %w", err)
	}
	return nil
}

// humanHit is a human open or click of a message.
type humanHit struct {
	messageID int64
	at        time.Time
}

// lockMessages begins the transaction, locks the sent messages the hits are for, in
// ID order so that concurrent batches cannot deadlock, and reads their recent hits,
// in one round trip. Requests for unknown messages or links are answered with
// ErrUnknownMessage and left out.
func lockMessages(ctx context.Context, conn *pgx.Conn, reqs []*hitRequest) (map[int64]*sentMessage, error) {
	ids := make([]int64, 0, len(reqs))
	msgIDs := make([]string, 0, len(reqs))
	var sets []int64 // the link sets clicks name
	var since time.Time
	for _, r := range reqs {
		ids = append(ids, r.tok.MessageID)
		if r.tok.LinkSet != 0 {
			sets = append(sets, r.tok.LinkSet)
		}
		msgIDs = append(msgIDs, strconv.FormatInt(r.tok.MessageID, 10))
		if t := r.hit.At.Add(-burstLookback); since.IsZero() || t.Before(since) {
			since = t
		}
	}
	// New opens change no earlier verdict (only honeypot hits and click bursts do),
	// and what they are judged by of the past is a honeypot hit: a batch of opens
	// alone need read no more than those, nor the messages' links.
	opensOnly := !slices.ContainsFunc(reqs, func(r *hitRequest) bool { return r.tok.Kind != track.Open })

	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// A signed token shows that its message was rendered to be sent: its hits count
	// even before the send is recorded, since a scanner may follow a link between
	// the SMTP server's 250 and our recording of it. A message's links are those of
	// its set, or, for mail sent before sets, its own.
	b.Queue(`SELECT m.id, m.lead_id, coalesce(m.sent_at, now()), CASE WHEN $2 THEN NULL ELSE m.links END, CASE WHEN $2 THEN NULL ELSE ls.links END
		FROM messages m LEFT JOIN link_sets ls ON ls.id = m.link_set_id
		WHERE m.id = ANY($1) ORDER BY m.id FOR UPDATE OF m`, ids, opensOnly)
	b.Queue(`SELECT id, type, occurred_at, properties FROM events
		WHERE lead_id = ANY(ARRAY(SELECT lead_id FROM messages WHERE id = ANY($1))) AND type IN ('email_opened', 'email_clicked')
		AND occurred_at >= $3 AND properties->>'message_id' = ANY($2) AND (NOT $4 OR properties ? 'honeypot')
		ORDER BY occurred_at, id`, ids, msgIDs, since, opensOnly)
	if len(sets) > 0 {
		b.Queue(`SELECT id, links FROM link_sets WHERE id = ANY($1)`, sets)
	}
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	msgs := map[int64]*sentMessage{}
	var id, leadID int64
	var sentAt time.Time
	var own, set []storedLink
	_, err = pgx.ForEachRow(rows, []any{&id, &leadID, &sentAt, &own, &set}, func() error {
		msgs[id] = &sentMessage{leadID: leadID, sentAt: sentAt, links: own, setLinks: set}
		own, set = nil, nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	past, err := br.Query()
	if err != nil {
		return nil, err
	}
	var typ string
	var at time.Time
	var props hitProps
	_, err = pgx.ForEachRow(past, []any{&id, &typ, &at, &props}, func() error {
		if sm := msgs[props.MessageID]; sm != nil {
			sm.earlier = append(sm.earlier, props.past(id, typ, at))
		}
		props = hitProps{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	setLinks := map[int64][]storedLink{}
	if len(sets) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		var links []storedLink
		if _, err := pgx.ForEachRow(rows, []any{&id, &links}, func() error {
			setLinks[id], links = links, nil
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}

	for _, r := range reqs {
		sm, ok := msgs[r.tok.MessageID]
		if ok && r.tok.Kind == track.Click {
			// The token's set; else, for a token of mail sent before sets, the
			// message's own links, which a later render may have followed with a set.
			links := sm.links
			switch {
			case r.tok.LinkSet != 0:
				links = setLinks[r.tok.LinkSet]
			case len(links) == 0:
				links = sm.setLinks
			}
			i := slices.IndexFunc(links, func(l storedLink) bool { return l.Index == r.tok.Link })
			if ok = i >= 0; ok {
				r.link = links[i]
			}
		}
		if !ok {
			r.err = ErrUnknownMessage
			continue
		}
		r.hit.Kind, r.hit.Link = r.tok.Kind, r.tok.Link
		r.res.LeadID = sm.leadID
		sm.reqs = append(sm.reqs, r)
	}
	for id, sm := range msgs {
		if len(sm.reqs) == 0 {
			delete(msgs, id)
		}
	}
	return msgs, nil
}

// hitProps are the properties of a tracking event.
type hitProps struct {
	MessageID int64    `json:"message_id"`
	Link      int      `json:"link"`
	Honeypot  bool     `json:"honeypot"`
	Verdict   string   `json:"verdict"`
	Reasons   []string `json:"reasons"`
	Method    string   `json:"method"`
	UserAgent string   `json:"user_agent"`
	IP        string   `json:"ip"`
}

func (p hitProps) past(eventID int64, typ string, at time.Time) pastHit {
	h := track.Hit{Kind: track.Open, At: at, Method: p.Method, UserAgent: p.UserAgent, Link: p.Link}
	switch {
	case p.Honeypot:
		h.Kind = track.Honeypot
	case typ == TypeClicked:
		h.Kind = track.Click
	}
	h.IP, _ = netip.ParseAddr(p.IP)
	return pastHit{eventID: eventID, verdict: track.Verdict(p.Verdict), reasons: p.Reasons, hit: h}
}

type pastHit struct {
	eventID int64
	verdict track.Verdict
	reasons []string
	hit     track.Hit
}

type hitEvent struct {
	leadID int64
	typ    string
	at     time.Time
	props  map[string]any
}

func newHitEvent(r *hitRequest, sm *sentMessage) hitEvent {
	typ := TypeOpened
	props := map[string]any{"message_id": r.tok.MessageID}
	switch r.tok.Kind {
	case track.Click:
		typ = TypeClicked
		l := r.link
		r.res.RedirectURL = l.URL
		props["link"], props["url"] = l.Index, l.URL
		if l.Name != "" {
			props["link_name"] = l.Name
		}
	case track.Honeypot:
		typ = TypeClicked
		props["honeypot"] = true
	}
	props["verdict"] = string(r.res.Judgement.Verdict)
	props["reasons"] = nonNil(r.res.Judgement.Reasons)
	props["method"] = r.hit.Method
	props["user_agent"] = truncate(r.hit.UserAgent, 300)
	if r.hit.IP.IsValid() {
		props["ip"] = r.hit.IP.String()
	}
	return hitEvent{leadID: sm.leadID, typ: typ, at: r.hit.At, props: props}
}

// queueHitEvents queues the insert of the hits' events.
func queueHitEvents(b *pgx.Batch, events []hitEvent) error {
	if len(events) == 0 {
		return nil
	}
	leads := make([]int64, len(events))
	types := make([]string, len(events))
	ats := make([]time.Time, len(events))
	props := make([]string, len(events))
	for i, e := range events {
		p, err := json.Marshal(e.props)
		if err != nil {
			return fmt.Errorf("record hits: %w", err)
		}
		leads[i], types[i], ats[i], props[i] = e.leadID, e.typ, e.at, string(p)
	}
	b.Queue(`INSERT INTO events (lead_id, type, occurred_at, properties)
		SELECT lead_id, type, at, props::jsonb FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS u(lead_id, type, at, props)`,
		leads, types, ats, props)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func reasonsJSON(r []string) []byte {
	b, _ := json.Marshal(nonNil(r))
	return b
}

// Unsubscribe unsubscribes the recipient of a message, at once and for good: no
// upsert or import undoes it. It reports whether the lead was subscribed until now.
func (m *Mailer) Unsubscribe(ctx context.Context, pool *pgxpool.Pool, messageID int64, via string) (bool, error) {
	var done bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var leadID int64
		err := tx.QueryRow(ctx, `SELECT lead_id FROM messages WHERE id = $1`, messageID).Scan(&leadID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUnknownMessage
		}
		if err != nil {
			return err
		}
		done, err = lead.Unsubscribe(ctx, tx, leadID, map[string]any{"message_id": messageID, "via": via})
		return err
	})
	if err != nil && !errors.Is(err, ErrUnknownMessage) {
		err = fmt.Errorf("unsubscribe (message %d): %w", messageID, err)
	}
	return done, err
}

// Recipient is the address a message went to, for the unsubscribe page.
func (m *Mailer) Recipient(ctx context.Context, pool *pgxpool.Pool, messageID int64) (email string, unsubscribed bool, err error) {
	err = pool.QueryRow(ctx, `SELECT l.email, l.unsubscribed_at IS NOT NULL FROM messages m JOIN leads l ON l.id = m.lead_id
		WHERE m.id = $1`, messageID).Scan(&email, &unsubscribed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, ErrUnknownMessage
	}
	return email, unsubscribed, err
}
