package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/testlog"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const testAPIKey = "e2e-key-0123456789abcdef"

// env is a fake environment for one run of the command.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// runCommand runs nurture with args to the end.
func runCommand(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut testlog.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: env(vars)}
	err = c.run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// server is a `nurture serve` running in the test process.
type server struct {
	URL  string
	logs *testlog.Buffer
	stop func() error
}

// startServer runs `nurture serve` until the test (or stop) ends it.
func startServer(t *testing.T, vars map[string]string, args ...string) *server {
	t.Helper()
	if _, ok := vars["NURTURE_TEMPLATES_DIR"]; !ok {
		vars["NURTURE_TEMPLATES_DIR"] = "../../templates"
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testlog.Buffer{}
	addr := make(chan string, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: logs, stderr: logs, getenv: env(vars),
		onListen: func(a string) { addr <- a }}
	done := make(chan error, 1)
	go func() {
		done <- c.run(ctx, append([]string{"serve", "--http-addr", "127.0.0.1:0"}, args...))
	}()
	s := &server{logs: logs}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(60 * time.Second):
				stopErr = errors.New("server did not stop within 60s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = s.stop() })
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-done:
		done <- err // for stop
		t.Fatalf("serve ended before listening: %v\n%s", err, logs)
	case <-time.After(90 * time.Second):
		t.Fatalf("serve did not listen within 90s\n%s", logs)
	}
	return s
}

func (s *server) request(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return s.requestWithKey(t, testAPIKey, method, path, body)
}

func (s *server) requestWithKey(t *testing.T, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return res.StatusCode, out
}

// dataDir is a data dir that the PostgreSQL account can reach when tests run as root
// (t.TempDir's parents are private to the test user).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nurture-e2e-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestServeOnTheEmbeddedDatabaseKeepsLeadsAcrossRestarts(t *testing.T) {
	t.Parallel()
	// As on a fresh clone: the data dir does not exist yet.
	dir := filepath.Join(dataDir(t), ".nurture")
	vars := map[string]string{"NURTURE_DATA_DIR": dir, "NURTURE_API_KEY": testAPIKey}

	first := startServer(t, vars)
	status, body := first.request(t, "GET", "/healthz", "")
	require.Equal(t, http.StatusOK, status, body)
	status, body = first.request(t, "POST", "/api/v1/leads", `{"email":"yamada@example.co.jp","last_name":"山田","company":"株式会社サンプル"}`)
	require.Equal(t, http.StatusCreated, status, body)
	id := int64(body["id"].(float64))

	// A command run beside the server joins its database rather than starting another.
	csv := filepath.Join(filepath.Dir(dir), "leads.csv")
	require.NoError(t, os.WriteFile(csv, []byte("メールアドレス,会社名\nsato@example.com,ACME\n"), 0o644))
	stdout, stderr, err := runCommand(t, vars, "import", csv)
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "1 created")

	require.FileExists(t, filepath.Join(dir, "pg", "pgdata", "PG_VERSION"), "the cluster lives in the data dir, not a fallback")
	require.FileExists(t, filepath.Join(dir, "secret"))
	require.NoError(t, first.stop())
	require.Contains(t, first.logs.String(), "embedded PostgreSQL stopped")
	_, err = os.Stat(filepath.Join(dir, "pg", "pgdata", "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "the cluster stops with the last process using it")

	second := startServer(t, vars)
	status, body = second.request(t, "GET", "/api/v1/leads/"+jsonNumber(id), "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "山田", body["last_name"])
	require.Equal(t, "株式会社サンプル", body["company"])
	status, body = second.request(t, "POST", "/api/v1/leads", `{"email":"sato@example.com"}`)
	require.Equal(t, http.StatusOK, status, "the imported lead survived the restart too: %v", body)
	require.Equal(t, "ACME", body["company"])
}

func jsonNumber(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}

func TestServeRefusesBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"BadRole", map[string]string{"NURTURE_ROLE": "boss"}, nil, "NURTURE_ROLE"},
		{"ShortAPIKey", map[string]string{"NURTURE_API_KEY": "short"}, nil, "NURTURE_API_KEY"},
		{"BadSettle", nil, []string{"--click-settle", "soon"}, "NURTURE_CLICK_SETTLE"},
		{"BadBaseURL", map[string]string{"NURTURE_BASE_URL": "example.com"}, nil, "NURTURE_BASE_URL"},
		{"BadDatabaseURL", map[string]string{"NURTURE_DATABASE_URL": "mysql://x"}, nil, "NURTURE_DATABASE_URL"},
		{"BadFrequencyCap", map[string]string{"NURTURE_FREQUENCY_CAP": "2/month"}, nil, "NURTURE_FREQUENCY_CAP: \"2/month\": a cap is per day or per week"},
		{"BadWatchInterval", map[string]string{"NURTURE_WATCH_INTERVAL": "0s"}, nil, "NURTURE_WATCH_INTERVAL"},
		{"BadFrequencyCapFlag", nil, []string{"--frequency-cap", "0/day"}, "NURTURE_FREQUENCY_CAP"},
		{"BadSalesDigest", map[string]string{"NURTURE_SALES_DIGEST": "every morning"}, nil, "NURTURE_SALES_DIGEST: \"every morning\" is not a cron schedule"},
		{"BadSalesDigestFlag", nil, []string{"--sales-digest", "0 25 * * *"}, "NURTURE_SALES_DIGEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runCommand(t, tt.vars, append([]string{"serve"}, tt.args...)...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "migrate", "import", "version"} {
		_, stderr, err := runCommand(t, nil, cmd, "--help")
		require.ErrorIs(t, err, flagErrHelp(), cmd)
		require.Contains(t, stderr, "Usage: nurture "+cmd, cmd)
		require.Equal(t, 0, exitCode(io.Discard, err))
	}
	_, stderr, _ := runCommand(t, nil, "serve", "--help")
	require.Contains(t, stderr, "NURTURE_HTTP_ADDR", "flags name their environment variable")

	stdout, _, err := runCommand(t, nil, "version")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(stdout, "nurture "), stdout)

	_, _, err = runCommand(t, nil, "frobnicate")
	require.Equal(t, 2, exitCode(io.Discard, err))
}

func flagErrHelp() error { return flag.ErrHelp }
