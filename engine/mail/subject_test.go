package mail_test

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
)

// TestLongSubject sends subjects of up to 2,000 characters made of a lead's name to
// a server that refuses lines of more than 998 characters: each is delivered, cut
// to message.MaxSubject characters, with no line of the header longer than 76.
func TestLongSubject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("_layouts/default.html", "<html><body>{{.Body}}</body></html>")
	write("long.md", "---\nsubject: '{{range 20}}{{$.Lead.LastName | default \"x\"}}{{end}}'\n---\n本文\n")
	b := setup(t, setupOpts{templates: dir})

	for i, tt := range []struct {
		name, last string
	}{
		{"Latin", strings.Repeat("a", 100)},
		{"Japanese", strings.Repeat("山田太郎", 25)},
		{"LatinUncut", strings.Repeat("a", 7)},
		{"LatinWords", strings.Repeat("ab ", 33) + "c"},
		{"Mixed", strings.Repeat("aあ", 50)},
	} {
		to := strings.ToLower(tt.name) + "@example.com"
		leadID := b.lead(t, lead.Input{Email: to, LastName: ptr(tt.last)})
		id := b.enqueue(t, leadID, "long", "test:long")
		b.waitStatus(t, id, mail.StatusSent)
		msgs := b.smtp.Wait(t, i+1, 5*time.Second)
		var raw []byte
		for _, m := range msgs {
			if m.To[0] == to {
				raw = m.Data
			}
		}
		require.NotNil(t, raw, tt.name)

		head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		inSubject := false
		for _, line := range strings.Split(string(head), "\r\n") {
			inSubject = strings.HasPrefix(line, "Subject:") || inSubject && strings.HasPrefix(line, " ")
			if inSubject {
				require.LessOrEqual(t, len(line), 76, "%s: %q", tt.name, line)
			}
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		want := strings.Repeat(tt.last, 20)
		if utf8.RuneCountInString(want) > message.MaxSubject {
			want = strings.TrimRight(string([]rune(want)[:message.MaxSubject-1]), " ") + "…"
		}
		require.Equal(t, want, subject, tt.name)
	}
}
