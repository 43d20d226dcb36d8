package scenario_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// schemaNode is the part of a JSON Schema the test walks.
type schemaNode struct {
	Properties map[string]*schemaNode `json:"properties"`
	Items      *schemaNode            `json:"items"`
	OneOf      []*schemaNode          `json:"oneOf"`
}

// object is the object schema among n's alternatives.
func (n *schemaNode) object() *schemaNode {
	if n.Properties != nil {
		return n
	}
	for _, alt := range n.OneOf {
		if alt.Properties != nil {
			return alt
		}
	}
	return nil
}

// TestSchema holds scenarios/scenario.schema.json to the keys the parser accepts, so
// that the two cannot drift apart.
func TestSchema(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../scenarios/scenario.schema.json")
	require.NoError(t, err)
	var top schemaNode
	require.NoError(t, json.Unmarshal(raw, &top))
	var meta map[string]any
	require.NoError(t, json.Unmarshal(raw, &meta))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", meta["$schema"])

	step := top.Properties["steps"].Items.object()
	tests := top.Properties["tests"].Items
	for where, node := range map[string]*schemaNode{
		"top":         &top,
		"trigger":     top.Properties["trigger"],
		"schedule":    top.Properties["trigger"].Properties["schedule"].object(),
		"send_window": top.Properties["send_window"],
		"step":        step,
		"variant":     step.Properties["variants"].Items,
		"wait":        step.Properties["wait"].object(),
		"wait_until":  step.Properties["wait_until"],
		"split":       step.Properties["split"].Items,
		"update":      step.Properties["update"],
		"test":        tests,
		"test event":  tests.Properties["events"].Items,
		"expect":      tests.Properties["expect"],
	} {
		require.NotNil(t, node, where)
		got := slices.Sorted(maps.Keys(node.Properties))
		want := slices.Sorted(slices.Values(scenario.Keys[where]))
		require.Equal(t, want, got, "the schema's %s keys", where)
	}
}

// TestShippedScenarios checks the scenarios shipped under scenarios/ against the
// shipped templates.
func TestShippedScenarios(t *testing.T) {
	t.Parallel()
	hasTemplate := func(name string) bool {
		for _, ext := range []string{".md", ".html"} {
			if _, err := os.Stat(filepath.Join("../../templates", name+ext)); err == nil {
				return true
			}
		}
		return false
	}
	_, err := scenario.LoadDir("../../scenarios", scenario.Options{HasTemplate: hasTemplate})
	require.NoError(t, err)
}
