package mail

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// group runs one database round trip for the items that many send jobs hand in at
// once (group commit): an item handed in while no batch is under way starts one, and
// every item handed in meanwhile goes into the next. A hundred jobs reading their
// messages cost a few statements instead of a hundred. The goroutine that runs the
// batches ends when no item is waiting: nothing runs in the background.
type group[T any] struct {
	run func(context.Context, []T) error

	mu      sync.Mutex
	waiting []groupItem[T]
	busy    bool
}

type groupItem[T any] struct {
	v    T
	done chan error
}

const (
	// maxGroup bounds how many items one round trip carries.
	maxGroup = 500
	// groupTimeout bounds one batch. It does not follow a caller's context, whose
	// cancellation must not fail the other items of the batch.
	groupTimeout = 30 * time.Second
)

func newGroup[T any](run func(context.Context, []T) error) *group[T] {
	return &group[T]{run: run}
}

// do hands v in and waits for its batch. A caller that stops waiting (its context
// ended) leaves v in the batch: the work is done all the same. A caller that must
// know the outcome, whatever happens to it meanwhile, passes a context that does not
// end (the batch is bounded by groupTimeout).
func (g *group[T]) do(ctx context.Context, v T) error {
	done := make(chan error, 1)
	g.mu.Lock()
	g.waiting = append(g.waiting, groupItem[T]{v, done})
	if !g.busy {
		g.busy = true
		go g.flush()
	}
	g.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *group[T]) flush() {
	vs := make([]T, 0, maxGroup)
	for {
		g.mu.Lock()
		n := min(len(g.waiting), maxGroup)
		if n == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		batch := g.waiting[:n:n]
		g.waiting = g.waiting[n:]
		g.mu.Unlock()

		vs = vs[:0]
		for _, it := range batch {
			vs = append(vs, it.v)
		}
		err := g.runBatch(vs)
		for _, it := range batch {
			it.done <- err
		}
		clear(batch) // the items are the callers' again
	}
}

// runBatch runs one batch; a panic fails the batch's items instead of the process.
func (g *group[T]) runBatch(vs []T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch of %d: panic: %v", len(vs), r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	return g.run(ctx, vs)
}
