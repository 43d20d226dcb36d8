package mail

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestGroupRunsEveryItemOnceInSharedBatches(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	batches := 0
	g := newGroup(func(_ context.Context, vs []int) error {
		mu.Lock()
		defer mu.Unlock()
		batches++
		if len(vs) > maxGroup {
			t.Errorf("batch of %d, more than %d", len(vs), maxGroup)
		}
		for _, v := range vs {
			seen[v]++
		}
		time.Sleep(time.Millisecond) // a round trip: others arrive meanwhile
		return nil
	})
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := g.do(context.Background(), i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d items run, want %d", len(seen), n)
	}
	for v, c := range seen {
		if c != 1 {
			t.Fatalf("item %d run %d times", v, c)
		}
	}
	if batches >= n/2 {
		t.Errorf("%d batches for %d items: hardly shared", batches, n)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy || len(g.waiting) != 0 {
		t.Errorf("group left busy=%t with %d waiting", g.busy, len(g.waiting))
	}
}

func TestGroupErrorReachesEveryItemOfItsBatch(t *testing.T) {
	boom := errors.New("boom")
	release := make(chan struct{})
	first := true
	g := newGroup(func(_ context.Context, vs []int) error {
		if first { // hold the first batch until the others are waiting
			first = false
			<-release
			return nil
		}
		return boom
	})
	errs := make(chan error, 4)
	go func() { errs <- g.do(context.Background(), 0) }()
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy && len(g.waiting) == 0 })
	for i := 1; i <= 3; i++ {
		go func() { errs <- g.do(context.Background(), i) }()
	}
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 3 })
	close(release)
	var failed int
	for range 4 {
		if errors.Is(<-errs, boom) {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("%d items got the second batch's error, want 3", failed)
	}
}

func TestGroupCallerThatStopsWaitingLeavesItsItem(t *testing.T) {
	release := make(chan struct{})
	ran := make(chan int, 1)
	g := newGroup(func(_ context.Context, vs []int) error {
		<-release
		ran <- vs[0]
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.do(ctx, 7); !errors.Is(err, context.Canceled) {
		t.Fatalf("do with a cancelled context: %v", err)
	}
	close(release)
	select {
	case v := <-ran:
		if v != 7 {
			t.Fatalf("ran %d", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the item of a caller that stopped waiting was not run")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
