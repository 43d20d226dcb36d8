package mail

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/track"
)

// maxHitBatch bounds how many hits one transaction records.
const maxHitBatch = 500

// ErrRecorderClosed is returned for a hit that arrives after Close.
var ErrRecorderClosed = errors.New("hit recorder closed")

// HitRecorder records tracking hits in batches: every hit waiting when a transaction
// starts goes into it (group commit), so that a burst of pixel loads costs a few
// transactions instead of one each. A hit is answered only once its transaction has
// committed, so nothing is acknowledged that a crash could lose, and Close waits for
// the hits in flight.
type HitRecorder struct {
	mailer *Mailer
	pool   *pgxpool.Pool
	in     chan *hitRequest
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
}

// NewHitRecorder starts a recorder with writers concurrent transactions.
func (m *Mailer) NewHitRecorder(pool *pgxpool.Pool, writers int) *HitRecorder {
	r := &HitRecorder{mailer: m, pool: pool, in: make(chan *hitRequest, 4*maxHitBatch)}
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
		err := r.mailer.recordBatch(context.Background(), r.pool, batch)
		for _, req := range batch {
			if err != nil && req.err == nil {
				req.err = err
			}
			close(req.done)
		}
	}
}
