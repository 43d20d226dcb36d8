package message

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

func TestSubjectIsCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
	writeFile(t, dir, "a.md", "---\nsubject: '{{.Lead.LastName | default \"ご担当者\"}}様へ'\n---\n本文\n")
	set := loadSet(t, dir)

	for _, tt := range []struct {
		name, last, want string
	}{
		{"Short", "山田", "山田様へ"},
		{"AtTheLimit", strings.Repeat("山", MaxSubject-2), strings.Repeat("山", MaxSubject-2) + "様へ"},
		{"Japanese", strings.Repeat("山田", 1000), string([]rune(strings.Repeat("山田", 1000))[:MaxSubject-1]) + "…"},
		{"Latin", strings.Repeat("a", 2000), strings.Repeat("a", MaxSubject-1) + "…"},
		{"SpaceBeforeTheCut", strings.Repeat("a", MaxSubject-2) + " bcd", strings.Repeat("a", MaxSubject-2) + "…"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 2 { // the first message of its shape, then from the render cache
				r, err := set.Render("a", Data{Lead: &lead.Lead{ID: 1, LastName: tt.last}, UnsubscribeURL: unsubscribeURL, Tracking: (&tracking{}).Tracking()})
				require.NoError(t, err)
				require.Equal(t, tt.want, r.Subject)
				require.LessOrEqual(t, utf8.RuneCountInString(r.Subject), MaxSubject)
			}
		})
	}
}
