package scenario_test

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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

// FuzzParseDepth nests lists and mappings in the ways YAML allows, mixed as the
// fuzzer likes, up to thousands of levels: Parse must answer within hangBound and
// 100 MB, and never accept anything deeper than a real scenario ever nests.
func FuzzParseDepth(f *testing.F) {
	f.Add(uint16(3), []byte{0, 1, 2, 3})
	f.Add(uint16(40000), []byte{0})
	f.Add(uint16(20000), []byte{1})
	f.Add(uint16(300), []byte{2})
	f.Add(uint16(30000), []byte{3})
	f.Add(uint16(25), []byte{4, 2, 0})
	f.Fuzz(func(t *testing.T, depth uint16, styles []byte) {
		if len(styles) == 0 {
			styles = []byte{0}
		}
		var open, close strings.Builder
		open.WriteString("trigger: { event: manual }\nsteps:")
		indent := "\n"
		for i := range int(depth) {
			switch styles[i%len(styles)] % 5 {
			case 0: // flow list
				open.WriteString(" [")
				close.WriteString("]")
			case 1: // flow mapping
				open.WriteString(" {a:")
				close.WriteString("}")
			case 2: // block mapping
				indent += "  "
				open.WriteString(indent + "a:")
			case 3: // block list, compact
				open.WriteString(indent + "  -")
				indent += "  "
			case 4: // list of pairs
				open.WriteString(" [a:")
				close.WriteString("]")
			}
			if open.Len() > 300<<10 {
				break
			}
		}
		src := []byte(open.String() + " x" + reverse(close.String()) + "\n")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		s, _ := scenario.Parse("fuzz.yaml", src, scenario.Options{})
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if took > hangBound || after.TotalAlloc-before.TotalAlloc > 100<<20 {
			t.Fatalf("depth %d, %d bytes: took %s and %d MB", depth, len(src), took, (after.TotalAlloc-before.TotalAlloc)>>20)
		}
		if depth > 40 && s != nil {
			t.Fatalf("depth %d accepted", depth)
		}
	})
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}
