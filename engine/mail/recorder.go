package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/track"
)

// maxHitBatch bounds how many hits one transaction records.
const maxHitBatch = 500

// ErrRecorderClosed is returned for a hit that arrives after Close.
var ErrRecorderClosed = errors.New("hit recorder closed")

// HitRecorder records tracking hits in batches: every hit waiting when a transaction
// starts goes into it (group commit), so that a burst of pixel loads costs a few
// transactions instead of one each. Record answers once its hit's transaction has
// committed; RecordLater hands a hit in and returns at once. Close waits for the hits
// in flight.
type HitRecorder struct {
	mailer *Mailer
	pool   *pgxpool.Pool
	log    *slog.Logger
	in     chan *hitRequest
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
}

// NewHitRecorder starts a recorder with writers concurrent transactions.
func (m *Mailer) NewHitRecorder(pool *pgxpool.Pool, writers int) *HitRecorder {
	r := &HitRecorder{mailer: m, pool: pool, log: m.log, in: make(chan *hitRequest, 4*maxHitBatch)}
	for range max(1, writers) {
		r.wg.Go(r.write)
	}
	return r
}

// Record records one hit and returns what it leads to.
func (r *HitRecorder) Record(ctx context.Context, tok track.Token, hit track.Hit) (HitResult, error) {
	req := &hitRequest{tok: tok, hit: hit, done: make(chan struct{})}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return HitResult{}, ErrRecorderClosed
	}
	r.in <- req
	r.mu.RUnlock()
	select {
	case <-req.done:
		return req.res, req.err
	case <-ctx.Done():
		// The hit is still recorded; the client just stopped waiting.
		return HitResult{}, ctx.Err()
	}
}

// RecordLater hands a hit in to be recorded with the next batch and returns at once;
// it waits only while the recorder is a full batch's worth behind. A hit whose batch
// fails is tried again with it; one for an unknown message is dropped.
//
// The open pixel uses it: a mail client never loads a pixel twice, so answering only
// after the commit would save no hit a crash interrupts, only make every open wait for
// the database. Either way a crash loses the hits of the batch under way.
func (r *HitRecorder) RecordLater(tok track.Token, hit track.Hit) error {
	req := &hitRequest{tok: tok, hit: hit}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrRecorderClosed
	}
	r.in <- req
	return nil
}

// Close records the hits already handed in and stops.
func (r *HitRecorder) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *HitRecorder) write() {
	batch := make([]*hitRequest, 0, maxHitBatch)
	for first := range r.in {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxHitBatch {
			select {
			case req, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			default:
				break fill
			}
		}
		// Hits are recorded even if their requests were cancelled meanwhile.
		err := r.recordBatch(batch)
		for _, req := range batch {
			if err != nil && req.err == nil {
				req.err = err
			}
			if req.done != nil {
				close(req.done)
			} else if req.err != nil && !errors.Is(req.err, ErrUnknownMessage) {
				r.log.Error("hit not recorded", "message_id", req.tok.MessageID, "error", req.err)
			}
		}
	}
}

// hitRetries are the pauses before a failed batch is tried again: a database that
// restarts or fails over for a moment loses no hit.
var hitRetries = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}

func (r *HitRecorder) recordBatch(batch []*hitRequest) error {
	for attempt := 0; ; attempt++ {
		err := r.mailer.recordBatch(context.Background(), r.pool, batch)
		if err == nil || attempt == len(hitRetries) {
			return err
		}
		r.log.Warn("recording hits failed; trying again", "hits", len(batch), "attempt", attempt+1, "error", err)
		time.Sleep(hitRetries[attempt])
		for _, req := range batch {
			req.res, req.err = HitResult{}, nil
		}
	}
}
