package scenario_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// FuzzParse feeds Parse any bytes: it must not panic or hang, and it returns either
// a scenario or errors with positions, never both or neither.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/broken"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte("steps: [end]\ntrigger: {event: manual}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := scenario.Parse("fuzz.yaml", src, testOptions())
		if (s == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v", s, err)
		}
		if err != nil {
			errs, ok := err.(scenario.Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("Parse returned %T %v", err, err)
			}
			for _, e := range errs {
				if e.File != "fuzz.yaml" || e.Line < 1 || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		for _, st := range s.Steps {
			if st.Kind == "" || st.ID == "" {
				t.Fatalf("step without kind or id: %+v", st)
			}
		}
		if s.Window != nil {
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			if next := s.Window.Next(now, nil); next.Before(now) {
				t.Fatalf("window went back: %s", next)
			}
		}
	})
}
