package score_test

import (
	"testing"

	"github.com/nurture-dev/nurture/engine/dbtest"
)

// TestMain releases the throwaway PostgreSQL cluster that the benchmarks start; the
// tests themselves need none.
func TestMain(m *testing.M) { dbtest.Main(m) }
