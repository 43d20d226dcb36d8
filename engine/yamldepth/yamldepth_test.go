package yamldepth_test

import (
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/yamldepth"
)

// blockNest is n mappings, each the value of the one before.
func blockNest(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i) + "k:\n")
	}
	return b.String()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		src          string
		line, column int // 0: accepted
	}{
		{"Scenario", "id: a\ntrigger: {event: form_submitted, if: 'event.form == \"x\"'}\nsteps:\n  - send: a/b\n    variants:\n      - {template: a, weight: 1}\n  - if: |\n      [[[[[[[[[[[[[[[[[[[[[[[[[[\n    yes: end\n", 0, 0},
		{"FlowAtTheBound", "steps: " + strings.Repeat("[", 4) + strings.Repeat("]", 4), 0, 0},
		{"DeepFlow", "steps: " + strings.Repeat("[", 10) + strings.Repeat("]", 10), 1, 13},
		{"DeepFlowOverLines", "steps:\n" + strings.Repeat("  [\n", 10), 7, 3},
		{"DeepMappings", blockNest(10), 7, 13},
		{"DeepCompactLists", "steps:\n  " + strings.Repeat("- ", 10) + "x\n", 2, 13},
		{"ListsUnderKeysAtTheirColumn", "a:\n- b:\n  - c:\n    - d:\n      - e:\n        - f\n", 4, 7},
		{"DeepFlowMappings", "a: " + strings.Repeat("{b: ", 10), 1, 24},
		{"BracketsInTextAreText", "subject: 資料[[[[[[[[[[[[[\nname: '[[[[[[[[[[[[['\nn: \"[[[[[[[[[[\\\"[[[[[[\"\n# [[[[[[[[[[[[[[\n", 0, 0},
		{"QuotedOverLines", "a: \"[[[[\n  [[[[[[[[[[[[\"\nb: [x]\n", 0, 0},
		{"DocumentsStartAfresh", blockNest(5) + "---\n" + blockNest(5), 0, 0},
		{"AnchorsAndTags", "a: &x !!seq " + strings.Repeat("[", 10), 1, 18},
		{"ColumnInCharacters", "件名: " + strings.Repeat("[", 10), 1, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := yamldepth.Check([]byte(tt.src), 6)
			if tt.line == 0 {
				require.NoError(t, err)
				return
			}
			var de *yamldepth.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, [2]int{tt.line, tt.column}, [2]int{de.Line, de.Column})
			require.Equal(t, "lists and mappings are nested more than 6 levels deep here", de.Error())
		})
	}
}

// depth is how deeply a parsed node nests lists and mappings.
func depth(n ast.Node) int {
	switch v := n.(type) {
	case *ast.DocumentNode:
		return depth(v.Body)
	case *ast.MappingNode:
		d := 0
		for _, mv := range v.Values {
			d = max(d, depth(mv.Key), depth(mv.Value))
		}
		return 1 + d
	case *ast.MappingValueNode:
		return 1 + max(depth(v.Key), depth(v.Value))
	case *ast.SequenceNode:
		d := 0
		for _, it := range v.Values {
			d = max(d, depth(it))
		}
		return 1 + d
	case *ast.AnchorNode:
		return depth(v.Value)
	case *ast.TagNode:
		return depth(v.Value)
	case *ast.MappingKeyNode:
		return depth(v.Value)
	}
	return 0
}

// FuzzCheck holds Check to its promise: what it accepts, the YAML parser never
// finds nested deeper than the bound.
func FuzzCheck(f *testing.F) {
	for _, src := range []string{
		"a:\n- b:\n  - c: [d, {e: f}]\n",
		"- - - x\n",
		"a: |\n  [[[\nb: {c: [d]}\n",
		"a: 'x''[' \nb: \"\\\"[\"\n",
		"? a\n: b\n",
		"a: &x\n  b: *x\n",
		"--- [a]\n--- {b: c}\n",
		blockNest(5),
	} {
		f.Add([]byte(src))
	}
	const bound = 5
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return // the parser's own cost, not Check's, would dominate
		}
		if yamldepth.Check(src, bound) != nil {
			return
		}
		file, err := parseYAML(src)
		if err != nil {
			return
		}
		for _, doc := range file.Docs {
			if d := depth(doc); d > bound {
				t.Fatalf("Check accepted %q, which nests %d deep", src, d)
			}
		}
	})
}

func parseYAML(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, nil
		}
	}()
	return yamlparser.ParseBytes(src, 0)
}
