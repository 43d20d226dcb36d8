package scenario_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// exprEnv is an environment with a lead whose attributes hold a little text and a
// number, as the API stores them.
func exprEnv() *scenario.Env {
	l := scenario.LeadEnvOf(&lead.Lead{ID: 1, Email: "a@example.com", Company: "株式会社サンプル", Score: 60,
		Tags: []string{"seminar", "vip"}, Attributes: map[string]any{"note": "abcdefghij", "visits": float64(3)}})
	return scenario.NewEnv(l, scenario.EventEnvOf("form_submitted", time.Now(), map[string]any{"form": "whitepaper"}), time.Now())
}

// allocated runs f and returns how many bytes it allocated, counting every goroutine.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestCompileExprRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src, msg string
		line, column   int
	}{
		{"RepeatBomb", `len(repeat(repeat("a", 999999), 999999)) > 0`, "repeat() cannot be used in a condition", 1, 5},
		{"JoinOnLaterLine", "lead.score > 1 &&\n  len(join(lead.tags, \",\")) > 0", "join() cannot be used", 2, 7},
		{"Replace", `replace(lead.company, "", lead.company) != ""`, "replace() cannot be used", 1, 1},
		{"ToJSON", `len(toJSON(lead)) > 0`, "toJSON() cannot be used", 1, 5},
		{"FromJSON", `fromJSON("[1]") != nil`, "fromJSON() cannot be used", 1, 1},
		{"String", `string(lead.tags) != ""`, "string() cannot be used", 1, 1},
		{"TooLong", `lead.company == "` + strings.Repeat("x", 9000) + `"`, "longer than 8192 bytes", 1, 1},
		{"DoublingText", `let a = "` + strings.Repeat("x", 1000) + `"; let b = a+a; let c = b+b; let d = c+c; let e = d+d; let f = e+e;
			let g = f+f; let h = g+g; let i = h+h; let j = i+i; let k = j+j; let l = k+k; let m = l+l; len(m+m) > 0`,
			"more than 1048576 bytes of text made", 1, 1},
		{"NestedLoops", `let r = 1..1000; all(r, all(r, all(r, true)))`, "more than 10000 loop iterations", 1, 1},
		{"HugeRange", `len(1..100000000) > 0`, "more than 10000 list elements made", 1, 1},
		{"TextInLoop", `let s = "` + strings.Repeat("x", 4000) + `"; len(map(1..5000, upper(s))) > 0`, "bytes of text made", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			var err error
			bytes := allocated(func() { _, err = scenario.CompileExpr(tt.src) })
			require.Less(t, time.Since(start), hangBound)
			require.Less(t, bytes, uint64(100<<20))
			var ee *scenario.ExprError
			require.ErrorAs(t, err, &ee)
			require.Contains(t, ee.Msg, tt.msg)
			require.Equal(t, tt.line, ee.Line)
			require.Equal(t, tt.column, ee.Column)
		})
	}
}

func TestExprBudget(t *testing.T) {
	t.Parallel()

	t.Run("EverydayConditionsWork", func(t *testing.T) {
		t.Parallel()
		for _, src := range []string{
			`lead.score >= 50 && has_tag("vip")`,
			`lead.company contains "株式会社" && lower(event.form) == "whitepaper"`,
			`"seminar" in lead.tags && days_since(lead.created_at) > 1`,
			`lead.attributes.note + "!" == "abcdefghij!"`,
			`lead.attributes.visits + 1 > 3`,
			`lead.first_name + lead.last_name == ""`,
			`any(lead.tags, # startsWith "sem") && count(1..100, # % 2 == 0) == 50`,
			`len(split(trim(" a,b,c "), ",")) == 3 && upper(lead.email) endsWith "EXAMPLE.COM"`,
			`sum(map(lead.tags, len(#))) == 10`,
		} {
			x, err := scenario.CompileExpr(src)
			require.NoError(t, err, src)
			ok, err := x.Bool(exprEnv())
			require.NoError(t, err, src)
			require.True(t, ok, src)
		}
	})

	// Conditions over the lead's own data pass check and may still go over budget
	// for one lead: that is an error for that evaluation, and the next one has a
	// budget of its own.
	t.Run("OverBudgetIsAnErrorPerEvaluation", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ name, src string }{
			{"Text", `let a = lead.attributes.note; let b = a+a; let c = b+b; let d = c+c; let e = d+d; let f = e+e;
				let g = f+f; let h = g+g; let i = h+h; let j = i+i; let k = j+j; let l = k+k; let m = l+l;
				let n = m+m; let o = n+n; let p = o+o; let q = p+p; let r = q+q; let s = r+r; let u = s+s;
				let v = u+u; let w = v+v; let x = w+w; let y = x+x; let z = y+y; len(z+z) > 0`},
			{"Loops", `lead.score > 10 && all(1..5000, all(1..5000, # > 0))`},
			{"Memory", `lead.score > 10 && len(1..(lead.score * 100000)) > 0`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				x, err := scenario.CompileExpr(tt.src)
				require.NoError(t, err)
				for range 3 {
					start := time.Now()
					var ok bool
					bytes := allocated(func() { ok, err = x.Bool(exprEnv()) })
					require.ErrorIs(t, err, scenario.ErrExprBudget)
					require.False(t, ok)
					require.Less(t, time.Since(start), hangBound)
					require.Less(t, bytes, uint64(100<<20))
				}
			})
		}
	})

	t.Run("TimeIsBounded", func(t *testing.T) {
		t.Parallel()
		// Within the loop and memory budgets, each iteration scans a long list: the
		// loop stops on time.
		x, err := scenario.CompileExpr(`lead.score > 10 && (let r = 1..5000; all(1..4000, -# not in r))`)
		require.NoError(t, err)
		start := time.Now()
		_, err = x.Bool(exprEnv())
		require.ErrorIs(t, err, scenario.ErrExprBudget)
		require.ErrorContains(t, err, "longer than 100ms")
		require.Less(t, time.Since(start), hangBound)
	})
}

// FuzzExprBudget compiles and runs any condition: it must not panic, and it must
// finish in a second with less than 100 MB allocated, whatever the outcome.
func FuzzExprBudget(f *testing.F) {
	for _, src := range []string{
		`len(repeat(repeat("a", 999999), 999999)) > 0`,
		`let a = lead.attributes.note; let b = a+a; let c = b+b; len(c+c) > 0`,
		`let r = 1..1000; all(r, all(r, true))`,
		`reduce(1..40, #acc + #acc, "ab") != ""`,
		`lead.score >= 50 && has_tag("vip")`,
		`len(split(lead.company, "")) > 0`,
		`map(1..100, upper(lead.attributes.note + lead.attributes.note)) != nil`,
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		bytes := allocated(func() {
			x, err := scenario.CompileExpr(src)
			if err != nil {
				var ee *scenario.ExprError
				if !errors.As(err, &ee) || ee.Line < 1 || ee.Column < 1 {
					t.Fatalf("CompileExpr(%q) returned %v", src, err)
				}
				return
			}
			_, _ = x.Bool(exprEnv())
		})
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%q took %s", src, d)
		}
		if bytes > 100<<20 {
			t.Fatalf("%q allocated %d MB", src, bytes>>20)
		}
	})
}
