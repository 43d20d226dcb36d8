package mail

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/message"
)

// maxKnownSets bounds the link sets a process remembers having stored.
const maxKnownSets = 10000

// linkSets stores the distinct lists of links that sent mail carries (see the
// link_sets table) and remembers which it has stored: the messages of a template
// usually share one, so a send rarely writes one. The sets new at the same moment
// are stored together, in one statement.
type linkSets struct {
	mu    sync.Mutex
	known map[[sha256.Size]byte]int64
	store *group[*linkSet]
}

type linkSet struct {
	hash  [sha256.Size]byte
	links []byte
	id    int64
}

func newLinkSets(pool *pgxpool.Pool) *linkSets {
	return &linkSets{
		known: map[[sha256.Size]byte]int64{},
		store: newGroup(func(ctx context.Context, sets []*linkSet) error { return storeLinkSets(ctx, pool, sets) }),
	}
}

// id returns the ID of the stored set of links, storing it first if it is new. Once
// it returns, the set is committed.
func (s *linkSets) id(ctx context.Context, links []message.Link) (int64, error) {
	ls := &linkSet{links: linksJSON(links)}
	ls.hash = sha256.Sum256(ls.links)
	s.mu.Lock()
	id, ok := s.known[ls.hash]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	if err := s.store.do(ctx, ls); err != nil {
		return 0, fmt.Errorf("store links: %w", err)
	}
	s.mu.Lock()
	if len(s.known) >= maxKnownSets {
		clear(s.known)
	}
	s.known[ls.hash] = ls.id
	s.mu.Unlock()
	return ls.id, nil
}

// storeLinkSets inserts the sets not stored yet and reads the IDs of all of them.
func storeLinkSets(ctx context.Context, pool *pgxpool.Pool, sets []*linkSet) error {
	hashes := make([][]byte, len(sets))
	links := make([]string, len(sets))
	for i, s := range sets {
		hashes[i], links[i] = s.hash[:], string(s.links)
	}
	// The statement's snapshot does not see the rows it inserts: the two halves of
	// the union never name a set twice. Nor does it see a set another process
	// committed while this one waited on it: those are read again.
	q := `WITH new AS (
			INSERT INTO link_sets (hash, links) SELECT DISTINCT ON (h) h, l::jsonb FROM unnest($1::bytea[], $2::text[]) AS x(h, l)
			ON CONFLICT (hash) DO NOTHING RETURNING id, hash)
		SELECT id, hash FROM new UNION ALL SELECT id, hash FROM link_sets WHERE hash = ANY($1)`
	for attempt := 0; ; attempt++ {
		rows, err := pool.Query(ctx, q, hashes, links)
		if err != nil {
			return err
		}
		var id int64
		var hash []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
			for _, s := range sets {
				if string(s.hash[:]) == string(hash) {
					s.id = id
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		hashes, links = hashes[:0], links[:0]
		for _, s := range sets {
			if s.id == 0 {
				hashes, links = append(hashes, s.hash[:]), append(links, string(s.links))
			}
		}
		if len(hashes) == 0 {
			return nil
		}
		if attempt == 2 {
			return fmt.Errorf("%d link sets not stored", len(hashes))
		}
	}
}
