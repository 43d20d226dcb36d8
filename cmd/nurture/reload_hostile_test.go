package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

// Bounds of TestServeRefusesHostileFilesLiveAndKeepsAnswering: loose enough for a
// loaded CI machine, tight enough that a reload that hangs, spins or balloons fails.
const (
	hostileWatchInterval = 100 * time.Millisecond
	hostileRefusedWithin = 5 * time.Second  // from the file renamed in to the refusal logged
	hostileAnswerWithin  = 2 * time.Second  // every request while the files are refused
	hostilePeakRSS       = 300 << 20        // the serve process's, over its whole life
	hostileRSSGrowth     = 100 << 20        // what refusing every file may add to it
	hostileSettleTimeout = 10 * time.Second // for the good edits at the end
)

// TestServeRefusesHostileFilesLiveAndKeepsAnswering runs `nurture serve` on copies of
// the repository's scenarios and templates, then drops the hostile files in, one at a
// time, while a client keeps asking /healthz and creating leads: each file is refused
// by the live reload, every request answers in time, the process stays small, and
// once the files are gone a good edit is still picked up.
func TestServeRefusesHostileFilesLiveAndKeepsAnswering(t *testing.T) {
	t.Parallel()
	bin := buildNurture(t)
	sink := mailtest.NewServer(t)
	scenarios, templates := copyTree(t, "../../scenarios"), copyTree(t, "../../templates")
	vars := childEnv(t, dbtest.NewURL(t), sink, scenarios)
	vars["NURTURE_TEMPLATES_DIR"] = templates
	vars["NURTURE_WATCH_INTERVAL"] = hostileWatchInterval.String()
	srv := startChild(t, bin, "serve", vars)
	log := followLog(t, srv.log)
	require.Zero(t, srv.logCount("refused"), "the repository's own files load clean:\n%s", srv.tail(30))
	startRSS := peakRSS(t, srv.cmd.Process.Pid)

	traffic := startTraffic(t, srv.URL)

	staging := t.TempDir() // beside the folders: a rename into them is atomic
	// drop writes src whole into dir/name (written aside, renamed in) and waits for the
	// serve log to say it was refused: a line with refusal and the file's name.
	drop := func(src, dir, name, refusal string) {
		t.Helper()
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		tmp := filepath.Join(staging, strings.ReplaceAll(name, "/", "_"))
		require.NoError(t, os.WriteFile(tmp, data, 0o644))
		log.skip()
		start := time.Now()
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
		reloading := log.wait(t, "a reload of "+dir, func(l string) bool {
			return strings.Contains(l, "folder changed; reloading") && strings.HasSuffix(l, " dir="+dir+"\n")
		}, hostileRefusedWithin)
		refused := log.wait(t, name+" refused", func(l string) bool {
			return strings.Contains(l, refusal) && strings.Contains(l, name+":")
		}, hostileRefusedWithin-time.Since(start))
		took := time.Since(start)
		t.Logf("%-32s refused %v after the rename (the reload itself: %v)", name, took.Round(time.Millisecond),
			logTime(t, refused).Sub(logTime(t, reloading)))
		require.Less(t, took, hostileRefusedWithin, "%s was refused too late", name)
	}

	// The hostile files stay in as the next ones come, so that each reload reads all
	// of them so far.
	hostileScenarios, err := filepath.Glob("testdata/hostile/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, hostileScenarios)
	for _, file := range hostileScenarios {
		drop(file, scenarios, filepath.Base(file), "scenario refused; the version running before stays")
	}
	const hostileTemplates = "../../engine/message/testdata/hostile"
	var templateNames []string
	require.NoError(t, filepath.WalkDir(hostileTemplates, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, err := filepath.Rel(hostileTemplates, p)
		if err != nil {
			return err
		}
		// The plain layout the hostile messages are set in: the folder's own stays.
		if name != filepath.Join("_layouts", "default.html") {
			templateNames = append(templateNames, name)
		}
		return nil
	}))
	require.Contains(t, templateNames, filepath.Join("_layouts", "nested_range.html"), "a hostile layout is among them")
	for _, name := range templateNames {
		drop(filepath.Join(hostileTemplates, name), templates, name, "templates refused; the set loaded before stays")
	}

	// Gone again, the folders reload clean: a new template, then a new scenario that
	// sends it (a scenario naming a template the set lacks is refused), are taken in.
	log.skip()
	for _, file := range hostileScenarios {
		require.NoError(t, os.Remove(filepath.Join(scenarios, filepath.Base(file))))
	}
	for _, name := range templateNames {
		require.NoError(t, os.Remove(filepath.Join(templates, name)))
	}
	templatesReloaded := func(l string) bool { return strings.Contains(l, "msg=\"templates reloaded\"") }
	count := templateCount(t, log.wait(t, "the templates reloaded without the hostile ones", templatesReloaded, hostileSettleTimeout))
	writeWhole(t, staging, filepath.Join(templates, "after", "hostile.md"), "---\nsubject: まだ動いています\n---\n{{.Lead.LastName}} 様\n")
	require.Equal(t, count+1, templateCount(t, log.wait(t, "the templates reloaded with after/hostile", templatesReloaded, hostileSettleTimeout)))
	writeWhole(t, staging, filepath.Join(scenarios, "after-hostile.yaml"), "trigger: { event: manual }\nsteps:\n  - send: after/hostile\n")
	log.wait(t, "after-hostile loaded", func(l string) bool {
		return strings.Contains(l, "msg=\"scenario loaded\"") && strings.Contains(l, "scenario=after-hostile")
	}, hostileSettleTimeout)

	answered := traffic.stop()
	t.Logf("%d requests answered during the reloads, the slowest in %v", answered.count, answered.slowest.Round(time.Millisecond))
	require.Empty(t, answered.failures)
	require.Positive(t, answered.count)
	require.Less(t, answered.slowest, hostileAnswerWithin)

	peak := peakRSS(t, srv.cmd.Process.Pid)
	t.Logf("serve's peak RSS: %d MB after start-up, %d MB at the end", startRSS>>20, peak>>20)
	require.Less(t, peak, uint64(hostilePeakRSS))
	require.Less(t, peak-startRSS, uint64(hostileRSSGrowth))
}

// copyTree copies the files under src into a new folder of the test.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

// writeWhole writes data to path by way of a file in staging renamed into place, as an
// editor saving atomically does, so that no look at the folder sees it half-written.
func writeWhole(t *testing.T, staging, path, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	tmp := filepath.Join(staging, "whole-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(tmp, []byte(data), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// peakRSS is the most resident memory the process has had (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) uint64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB$`).FindSubmatch(status)
	require.NotNil(t, m, "VmHWM in /proc/%d/status", pid)
	kb, err := strconv.ParseUint(string(m[1]), 10, 64)
	require.NoError(t, err)
	return kb << 10
}

// logFollower reads a child's log as it grows, a whole line at a time.
type logFollower struct {
	r       *bufio.Reader
	partial string // the start of a line still being written
}

func followLog(t *testing.T, path string) *logFollower {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return &logFollower{r: bufio.NewReader(f)}
}

// skip moves past everything logged so far.
func (f *logFollower) skip() {
	for {
		if _, ok := f.next(); !ok {
			return
		}
	}
}

// wait returns the first line from here on that matches, failing the test if none is
// logged within d.
func (f *logFollower) wait(t *testing.T, what string, match func(string) bool, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		line, ok := f.next()
		switch {
		case ok && match(line):
			return line
		case ok:
		case time.Now().After(deadline):
			t.Fatalf("not logged within %v: %s", d, what)
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// next is the next whole line, if one has been written.
func (f *logFollower) next() (string, bool) {
	s, err := f.r.ReadString('\n')
	f.partial += s
	if err != nil { // io.EOF: the line is not whole yet; the next read carries on
		return "", false
	}
	line := f.partial
	f.partial = ""
	return line, true
}

// templateCount is the count of a "templates reloaded" log line.
func templateCount(t *testing.T, line string) int {
	t.Helper()
	m := regexp.MustCompile(` count=(\d+)`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// logTime is the time a text log line was written.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	m := regexp.MustCompile(`^time=(\S+)`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	at, err := time.Parse(time.RFC3339Nano, m[1])
	require.NoError(t, err)
	return at
}

// traffic is a client asking a server, without pause, for its health and to create a
// lead, until stopped.
type traffic struct {
	done   chan struct{}
	result chan trafficResult
	once   sync.Once
	last   trafficResult
}

type trafficResult struct {
	count    int
	slowest  time.Duration
	failures []string // the first few
}

func startTraffic(t *testing.T, base string) *traffic {
	t.Helper()
	tr := &traffic{done: make(chan struct{}), result: make(chan trafficResult, 1)}
	client := &http.Client{Timeout: hostileAnswerWithin}
	ask := func(method, path, body string, want int) (time.Duration, error) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		if body != "" {
			req.Header.Set("Authorization", "Bearer "+testAPIKey)
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return time.Since(start), err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err == nil && res.StatusCode != want {
			err = fmt.Errorf("%s %s answered %d, want %d", method, path, res.StatusCode, want)
		}
		return took, err
	}
	go func() {
		var r trafficResult
		defer func() { tr.result <- r }()
		for i := 0; ; i++ {
			select {
			case <-tr.done:
				return
			default:
			}
			for _, q := range []struct {
				method, path, body string
				want               int
			}{
				{http.MethodGet, "/healthz", "", http.StatusOK},
				{http.MethodPost, "/api/v1/leads", fmt.Sprintf(`{"email": "reload-%d@example.co.jp", "last_name": "山田"}`, i), http.StatusCreated},
			} {
				took, err := ask(q.method, q.path, q.body, q.want)
				r.count++
				r.slowest = max(r.slowest, took)
				if err != nil && len(r.failures) < 10 {
					r.failures = append(r.failures, err.Error())
				}
			}
		}
	}()
	t.Cleanup(func() { tr.stop() })
	return tr
}

// stop ends the traffic and returns what it saw.
func (tr *traffic) stop() trafficResult {
	tr.once.Do(func() {
		close(tr.done)
		tr.last = <-tr.result
	})
	return tr.last
}
