package message

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

// cacheValues are lead values for the render cache tests: ordinary ones, and ones
// that land on every rule the cache has (escaping, white space, URLs, placeholders,
// markers, lengths that change the wrapping of the text part).
var cacheValues = []string{
	"山田", "花子", "サンプル株式会社", "ACME Corp", "株式会社 テスト", "a",
	`<script>alert("x")</script>株式会社サンプル&テック`, `O'Reilly & "Sons" <b>`,
	"javascript:alert(1)", "https://evil.example/?a=1&b=2", "100%", "a/b?c=d#e",
	"", " ", "  先頭に空白", "末尾に空白 ", "二つの  空白", "改行\nあり", "タブ\tあり", "全角　空白", "\r\n",
	"\uE000\uE130\uE001", "\uE002", "https://nurture-marker.invalid/u0z", unsubMarker, linkMarker(0), "{{.Lead.Email}}", "*強調*", "[リンク](https://x.example)",
	"info@nurture.example", "https://www.nurture.example/", "x href=https://evil.example", "x data-notrack", `"q"`, "a(b)", "expression",
	strings.Repeat("長い会社名", 20), strings.Repeat("word ", 30) + "end", "👨‍👩‍👧 家族", "ｶﾀｶﾅ",
}

// cacheLead makes a lead whose fields take values from cacheValues, starting at n.
func cacheLead(n int) *lead.Lead {
	v := func(i int) string { return cacheValues[(n+i*7)%len(cacheValues)] }
	employees := n * 37
	l := &lead.Lead{
		ID: int64(n + 1), Email: fmt.Sprintf("lead%d@example.co.jp", n),
		LastName: v(0), FirstName: v(1), Company: v(2), Department: v(3), Title: v(4), Source: v(5),
		Industry: v(6), Attributes: map[string]any{"業種区分": v(7)}, Tags: []string{v(8), v(9)},
	}
	if n%3 != 0 {
		l.Employees = &employees
	}
	return l
}

func cacheData(l *lead.Lead, id int) Data {
	return Data{Lead: l, UnsubscribeURL: "https://nurture.example/u/tok" + strconv.Itoa(id), Tracking: &Tracking{
		Links:       EachLink(func(l Link) string { return fmt.Sprintf("https://nurture.example/t/c/m%d-%d", id, l.Index) }),
		PixelURL:    "https://nurture.example/t/o/m" + strconv.Itoa(id),
		HoneypotURL: "https://nurture.example/t/c/h" + strconv.Itoa(id),
	}}
}

// TestRenderCacheMatchesFullRender renders every template for many leads through the
// cache and in full, and requires the same message, to the byte; and that the cache
// does serve the shipped templates.
func TestRenderCacheMatchesFullRender(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../../templates", "testdata/render"} {
		set := loadSet(t, dir)
		for _, name := range set.Names() {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				t.Parallel()
				tmpl := set.templates[name]
				for n := range 3 * len(cacheValues) {
					d := cacheData(cacheLead(n), n)
					got, err := set.Render(name, d)
					require.NoError(t, err)
					want, err := tmpl.renderFull(d)
					require.NoError(t, err)
					require.Equal(t, want, got, "lead %d", n)
				}
				if dir != "../../templates" {
					return
				}
				// Leads with ordinary values get their messages from the cache, but
				// for the sales alert, whose mailto: link carries the lead's address.
				for i, l := range []*lead.Lead{japaneseLead(), {ID: 9, Email: "sato@example.com", LastName: "佐藤", Company: "ACME"}} {
					d := cacheData(l, 1000+i)
					_, _ = set.Render(name, d)
					r, ok, err := tmpl.renderCached(d)
					require.NoError(t, err)
					require.Equal(t, name != "alerts/escalation", ok, "lead %d from the cache", i)
					if ok {
						want, err := tmpl.renderFull(d)
						require.NoError(t, err)
						require.Equal(t, want, r)
					}
				}
			})
		}
	}
}

// TestRenderCacheFallsBack checks templates whose values land where the cache
// cannot fill them in: they render in full, and correctly.
func TestRenderCacheFallsBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "_layouts"), 0o755))
	layout, err := os.ReadFile("../../templates/_layouts/default.html")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "_layouts", "default.html"), layout, 0o644))
	files := map[string]string{
		"class.html":   "<p class=\"{{.Lead.Industry}}\">{{.Lead.LastName}}</p>",
		"style.html":   "<p style=\"color: {{.Lead.Industry}}\">{{.Lead.LastName}}</p>",
		"href.html":    "<p><a href=\"{{.Lead.Source}}\" data-notrack>x</a> <a href=\"https://x.example/{{.Lead.Source}}\">y</a></p>",
		"mailto.md":    "[{{.Lead.LastName}}](mailto:{{.Lead.LastName}})",
		"rawhref.md":   "<a href=\"{{.Lead.Source}}\" data-notrack>リンク</a>",
		"sub.html":     "{{define \"x\"}}<p>{{.LastName}}</p>{{end}}{{template \"x\" .Lead}}",
		"sameurl.html": "<p><a href=\"https://x.example/?q={{.Lead.LastName}}\" data-notrack>{{.Lead.LastName}}</a></p>",
		// Found by review: a value as the text of an untracked link, which the text
		// part compares with the address; data-* attributes html/template escapes as
		// CSS or script; a value falling back to the unsubscribe URL; an index only
		// some leads have; unquoted attributes in raw HTML.
		"mailtotext.md":  "[{{.Lead.Company}}](mailto:info@nurture.example) まで",
		"notrack.html":   "<p><a href=\"https://www.nurture.example/\" data-notrack>{{.Lead.Company}}</a></p>",
		"datastyle.html": "<p data-style=\"{{.Lead.Company}}\">x</p>",
		"dataon.html":    "<p data-onclick=\"{{.Lead.Company}}\">x</p>",
		"unsub.html":     "<p>{{.Lead.Company | default .UnsubscribeURL}}</p>",
		"index.md":       "{{.Lead.LastName | default \"ご担当者\"}} 様 {{if .Lead.Tags}}{{index .Lead.Tags 1}}{{end}}",
		"unquoted.md":    "<a title={{.Lead.Company}} href=\"https://www.nurture.example/\">資料</a> <img src=\"https://x.example/a.png\" alt={{.Lead.Company}}>",
		"alt.html":       "<p><img src=\"https://x.example/a.png\" alt=\"{{.Lead.Company}}\" title=\"{{.Lead.LastName}}\"> {{.Lead.LastName}}</p>",
	}
	for name, body := range files {
		// A preheader, since the layout shows it and an empty value is always rendered in full.
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("---\nsubject: 件名\npreheader: ご案内\n---\n"+body+"\n"), 0o644))
	}
	set := loadSet(t, dir)
	for name := range files {
		name = strings.TrimSuffix(strings.TrimSuffix(name, ".html"), ".md")
		tmpl := set.templates[name]
		for n := range len(cacheValues) {
			d := cacheData(cacheLead(n), n)
			got, err := set.Render(name, d)
			require.NoError(t, err)
			want, err := tmpl.renderFull(d)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s, lead %d", name, n)
		}
	}
	// Values in a class or a style change which CSS applies; others are escaped by
	// html/template in ways the cache does not repeat: never from the cache.
	for _, name := range []string{"class", "style", "mailtotext", "notrack", "datastyle", "dataon"} {
		_, ok, err := set.templates[name].renderCached(cacheData(cacheLead(0), 0))
		require.NoError(t, err)
		require.False(t, ok, name)
	}
	// Text and attributes for people are.
	plain := &lead.Lead{ID: 1, Email: "a@example.com", LastName: "山田", Company: "サンプル株式会社"}
	for _, name := range []string{"alt", "unquoted", "index"} {
		_, ok, err := set.templates[name].renderCached(cacheData(plain, 1))
		require.NoError(t, err)
		require.True(t, ok, name)
	}
}

// FuzzRenderCache checks that a message from the render cache is the message a full
// render makes, for any values.
//
//	go test -run '^$' -fuzz FuzzRenderCache -fuzztime 60s ./engine/message/
func FuzzRenderCache(f *testing.F) {
	for i, v := range cacheValues {
		f.Add(v, cacheValues[(i+1)%len(cacheValues)])
	}
	set, err := Load("testdata/render")
	if err != nil {
		f.Fatal(err)
	}
	shipped, err := Load("../../templates")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, last, company string) {
		l := &lead.Lead{ID: 1, Email: "a@example.com", LastName: last, Company: company, Source: company}
		for _, s := range []*Set{set, shipped} {
			for _, name := range s.Names() {
				d := cacheData(l, 1)
				got, err := s.Render(name, d)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.templates[name].renderFull(d)
				if err != nil {
					t.Fatal(err)
				}
				if !sameRendered(got, want) {
					t.Fatalf("%s: the cache gave\n%#v\nwant\n%#v", name, got, want)
				}
			}
		}
	})
}

// TestTrackingErrorFailsTheRender checks that a message whose links could not be
// tracked (stored) is never rendered, from the cache or in full, and that the links
// are asked for once per message, all at once.
func TestTrackingErrorFailsTheRender(t *testing.T) {
	set, err := Load("../../templates")
	require.NoError(t, err)
	boom := errors.New("links not stored")
	for i := range 3 { // the first message of a shape, then from the cache
		calls := 0
		d := cacheData(cacheLead(i), i)
		d.Tracking.Links = func(ls []Link) ([]string, error) {
			calls++
			require.NotEmpty(t, ls)
			return nil, boom
		}
		_, err := set.Render("whitepaper/thanks", d)
		require.ErrorIs(t, err, boom, "message %d", i)
		require.Equal(t, 1, calls, "message %d", i)

		var asked [][]Link
		d.Tracking.Links = func(ls []Link) ([]string, error) {
			asked = append(asked, ls)
			return EachLink(func(l Link) string { return "https://t.example/" + strconv.Itoa(l.Index) })(ls)
		}
		r, err := set.Render("whitepaper/thanks", d)
		require.NoError(t, err)
		require.Len(t, asked, 1, "message %d: links asked for once", i)
		require.Equal(t, r.Links, asked[0])
		require.Contains(t, r.HTML, `href="https://t.example/0"`)
	}
}
