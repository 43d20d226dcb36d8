package scenario_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// notInTable are the LeadEnv fields the README's table leaves out, and why.
var notInTable = map[string]string{
	"id": "the lead's number is for engineers, not for marketers' conditions",
}

// TestReadmeFieldTable holds the table of lead fields in their four spellings
// (scenarios/README.md) to the code: each row's condition names a LeadEnv field, its
// template the same field of lead.Lead, its test key a field LeadFromMap takes, and
// its update column a field an update may set (or says it cannot); every LeadEnv
// field has a row.
func TestReadmeFieldTable(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../scenarios/README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(src), "## リードの項目（4つの書き方）")
	require.True(t, ok, "the README has the section of lead fields")
	section, _, _ = strings.Cut(section, "\n## ")

	envFields := map[string]reflect.StructField{} // by expr tag
	for f := range reflect.TypeFor[scenario.LeadEnv]().Fields() {
		if tag := f.Tag.Get("expr"); tag != "" {
			envFields[tag] = f
		}
	}
	var (
		condRE  = regexp.MustCompile(`lead\.([a-z_]+)(?:\.([a-z_]+))?`)
		tmplRE  = regexp.MustCompile(`\.Lead\.([A-Za-z]+)(?:\.([A-Za-z]+))?`)
		testRE  = regexp.MustCompile("^`([a-z_]+)")
		fieldRE = regexp.MustCompile(`fields: \{ ([a-z_]+)`)
	)
	seen := map[string]bool{}
	rows := 0
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 5 || !strings.Contains(cells[1], "`lead.") {
			continue
		}
		rows++
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name := cells[0]

		cond := condRE.FindStringSubmatch(cells[1])
		require.NotNil(t, cond, "%s: the condition names a lead field", name)
		env, ok := envFields[cond[1]]
		require.True(t, ok, "%s: lead.%s is not a field conditions see", name, cond[1])
		seen[cond[1]] = true
		if cond[2] != "" {
			require.True(t, hasExprTag(env.Type, cond[2]), "%s: lead.%s.%s is not a field conditions see", name, cond[1], cond[2])
		}

		// A template shows the stored lead: the same field by its Go name.
		if m := tmplRE.FindStringSubmatch(cells[2]); m != nil {
			f, ok := reflect.TypeFor[lead.Lead]().FieldByName(m[1])
			require.True(t, ok, "%s: .Lead.%s is not a field templates see", name, m[1])
			require.Equal(t, env.Name, f.Name, "%s: the template shows another field than the condition", name)
			if m[2] != "" {
				_, ok := f.Type.FieldByName(m[2])
				require.True(t, ok, "%s: .Lead.%s.%s is not a field templates see", name, m[1], m[2])
			}
		} else {
			require.Contains(t, cells[2], ".Lead", "%s: the template shows the lead", name)
		}

		key := testRE.FindStringSubmatch(cells[3])
		require.NotNil(t, key, "%s: the test column gives a key", name)
		require.Equal(t, cond[1], key[1], "%s: a test's lead names the field as conditions do", name)
		_, err := scenario.LeadFromMap(map[string]any{key[1]: "x"}, scenario.DefaultSimStart)
		if err != nil {
			require.NotContains(t, err.Error(), "is not something scenario conditions see", "%s: a test's lead takes %s", name, key[1])
		}

		if m := fieldRE.FindStringSubmatch(cells[4]); m != nil {
			field := m[1]
			if field == "attributes" {
				require.Contains(t, cells[4], "attributes.", "%s: an attribute is set as attributes.<name>", name)
			} else {
				require.Equal(t, cond[1], field, "%s: update sets the field conditions see", name)
				require.Contains(t, scenario.UpdateFields, field, "%s: update can set %s", name, field)
			}
		} else {
			require.NotContains(t, scenario.UpdateFields, cond[1], "%s: the table says update cannot set it, but it can", name)
		}
	}
	require.Greater(t, rows, 15, "the table's rows are found")

	for tag := range envFields {
		if _, ok := notInTable[tag]; ok {
			require.False(t, seen[tag], "lead.%s is in the table now: remove it from notInTable", tag)
			continue
		}
		require.True(t, seen[tag], "lead.%s is not in the README's table of lead fields", tag)
	}
}

func hasExprTag(t reflect.Type, tag string) bool {
	return slices.ContainsFunc(slices.Collect(t.Fields()), func(f reflect.StructField) bool { return f.Tag.Get("expr") == tag })
}
