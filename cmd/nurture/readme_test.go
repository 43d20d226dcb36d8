package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
)

// TestREADMECurlExamples runs the README's curl examples, as written, against a
// server started the way the README says, so the documentation cannot drift.
func TestREADMECurlExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to check the README's examples (apt-get install curl)")
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	key := regexp.MustCompile(`NURTURE_API_KEY=(\S+) go run ./cmd/nurture serve`).FindSubmatch(readme)
	require.NotNil(t, key, "the README shows how to start the server with an API key")

	var examples []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(readme, -1) {
		if strings.HasPrefix(string(block[1]), "curl ") {
			examples = append(examples, string(block[1]))
		}
	}
	require.GreaterOrEqual(t, len(examples), 4, "the README has curl examples for leads, events and a lead's page")

	srv := startServer(t, map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t), "NURTURE_API_KEY": string(key[1])})
	for _, ex := range examples {
		cmd := strings.ReplaceAll(ex, "http://localhost:8080", srv.URL)
		out, err := exec.Command("bash", "-c", cmd).CombinedOutput()
		require.NoError(t, err, "%s\n%s", ex, out)
		var body map[string]any
		require.NoError(t, json.Unmarshal(out, &body), "%s\nanswered %s", ex, out)
		require.NotContains(t, body, "error", "%s\nanswered %s", ex, out)
	}
	status, body := srv.requestWithKey(t, string(key[1]), "GET", "/api/v1/leads/1", "")
	require.Equal(t, 200, status)
	require.Equal(t, "情報システム部", body["department"], "the form's fields reached the lead")
	require.Equal(t, "sal", body["stage"], "the stage example moved the lead")
	require.Equal(t, "500万円", body["bant"].(map[string]any)["budget"], "the BANT example recorded it")
	require.Len(t, body["timeline"], 6, "created, updated, the form, the visit, the stage change, the BANT update")
}
