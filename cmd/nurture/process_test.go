package main

import (
	"bufio"
	"bytes"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

// buildNurture builds the real binary into a folder of the test.
func buildNurture(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nurture")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// child is `nurture serve` running as a process of its own, in a process group of its
// own so that nothing it starts outlives the test.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	URL  string // http://host:port, once it listens
}

// startChild runs `nurture serve` with env (NURTURE_* variables; PATH and HOME come
// from the test's environment) and, unless the role is worker, waits for it to listen.
func startChild(t *testing.T, bin, name string, env map[string]string) *child {
	t.Helper()
	c := &child{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(c.log)
	require.NoError(t, err)
	defer f.Close()
	c.cmd = exec.Command(bin, "serve")
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, c.cmd.Start())
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("last lines of %s's log:\n%s", name, c.tail(30))
		}
	})
	if env["NURTURE_ROLE"] == "worker" {
		return c
	}
	listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(c.log)
		if m := listening.FindSubmatch(b); m != nil {
			c.URL = "http://" + string(m[1])
			return c
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited before listening:\n%s", name, c.tail(30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen within 60s:\n%s", name, c.tail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process group at once, as a power cut would, and waits for the end.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// tail is the end of the process's log.
func (c *child) tail(n int) string {
	b, _ := os.ReadFile(c.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logLines returns the lines of the process's log that contain s.
func (c *child) logLines(s string) string {
	b, _ := os.ReadFile(c.log)
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// logCount counts the lines of the process's log that contain s.
func (c *child) logCount(s string) int {
	f, err := os.Open(c.log)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(s)) {
			n++
		}
	}
	return n
}

// messageIDs counts the sink's messages by Message-ID.
func messageIDs(t *testing.T, msgs []mailtest.Message) map[string]int {
	t.Helper()
	ids := make(map[string]int, len(msgs))
	for _, m := range msgs {
		parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
		require.NoError(t, err)
		id := parsed.Header.Get("Message-ID")
		require.NotEmpty(t, id)
		ids[id]++
	}
	return ids
}

// duplicates is how many deliveries repeated a Message-ID already delivered.
func duplicates(ids map[string]int) int {
	n := 0
	for _, c := range ids {
		n += c - 1
	}
	return n
}
