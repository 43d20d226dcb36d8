package message

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

// TestValuesInURLsAreEscaped checks that a lead value printed in the path or the
// query of a link stays one path segment or one query value, in HTML and Markdown
// bodies, rendered in full and from the render cache.
func TestValuesInURLsAreEscaped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
	writeFile(t, dir, "a.html", "---\nsubject: 件名\n---\n"+
		`<p><a href="https://example.com/docs/{{.Lead.Company}}?ref={{.Lead.Company}}">資料</a>`+
		`<img src="https://example.com/img/{{.Lead.Company}}.png" alt="x"></p>`+"\n")
	writeFile(t, dir, "b.md", "---\nsubject: 件名\n---\n"+
		"[資料](https://example.com/docs/{{.Lead.Company}}?ref={{.Lead.Company}})\n")
	set := loadSet(t, dir)

	for _, company := range []string{"../../admin?x=1#frag", "a/b c&d=e", "株式会社/サンプル"} {
		for _, name := range []string{"a", "b"} {
			for i := range 3 { // the first message of its shape, then from the cache
				l := &lead.Lead{ID: int64(i + 1), Email: "a@example.com", Company: company}
				r, err := set.Render(name, Data{Lead: l, UnsubscribeURL: unsubscribeURL, Tracking: (&tracking{}).Tracking()})
				require.NoError(t, err)
				require.Len(t, r.Links, 1, name)
				u, err := url.Parse(r.Links[0].URL)
				require.NoError(t, err, r.Links[0].URL)
				require.Equal(t, "example.com", u.Host)
				require.Empty(t, u.Fragment, "%s: %s", name, r.Links[0].URL)
				require.Equal(t, url.Values{"ref": {company}}, u.Query(), "%s: %s", name, r.Links[0].URL)
				segment, ok := strings.CutPrefix(u.EscapedPath(), "/docs/")
				require.True(t, ok, r.Links[0].URL)
				require.NotContains(t, segment, "/", r.Links[0].URL)
				got, err := url.PathUnescape(segment)
				require.NoError(t, err)
				require.Equal(t, company, got)
				if name == "a" {
					require.Contains(t, r.HTML, `src="https://example.com/img/`+escapeURLComponent(company)+`.png"`)
				}
			}
		}
	}
}

// TestLinkHostFromValueIsRefused checks that a template whose tracked link takes its
// scheme or host from a value is refused at load, and that values elsewhere in an
// address are not.
func TestLinkHostFromValueIsRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, file, body string
		refused          bool
	}{
		{"WholeAddress", "a.html", `<a href="{{attr .Lead "homepage"}}">x</a>`, true},
		{"WholeAddressMarkdown", "a.md", `[x]({{attr .Lead "homepage"}})`, true},
		{"Host", "a.html", `<a href="https://{{.Lead.Company}}.example.com/">x</a>`, true},
		{"HostMarkdown", "a.md", `[x](https://{{.Lead.Company}}.example.com/)`, true},
		{"AfterHostNoSlash", "a.html", `<a href="https://example.com{{.Lead.Company}}">x</a>`, true},
		{"Scheme", "a.html", `<a href="{{.Lead.Source}}://example.com/">x</a>`, true},
		{"SchemeStart", "a.html", `<a href="ht{{.Lead.Source}}">x</a>`, true},
		{"ProtocolRelative", "a.html", `<a href="//{{.Lead.Company}}/x">x</a>`, true},
		{"InBranch", "a.html", `{{if .Lead.Company}}<a href="https://{{.Lead.Company}}/">x</a>{{end}}`, true},
		{"RawHTMLInMarkdown", "a.md", `<a href="{{.Lead.Source}}">x</a>`, true},
		{"Path", "a.html", `<a href="https://example.com/{{.Lead.Company}}">x</a>`, false},
		{"Query", "a.html", `<a href="https://example.com/?q={{.Lead.Company}}">x</a>`, false},
		{"PathMarkdown", "a.md", `[x](https://example.com/{{.Lead.Company}})`, false},
		{"NotTracked", "a.html", `<a href="{{attr .Lead "homepage"}}" data-notrack>x</a>`, false},
		{"Mailto", "a.html", `<a href="mailto:{{.Lead.Email}}">x</a>`, false},
		{"Relative", "a.html", `<a href="/x/{{.Lead.Company}}">x</a>`, false},
		{"Unsubscribe", "a.html", `<a href="{{.UnsubscribeURL}}">x</a>`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
			writeFile(t, dir, tt.file, "---\nsubject: 件名\n---\n"+tt.body+"\n")
			s, err := Load(dir)
			if !tt.refused {
				require.NoError(t, err)
				require.Len(t, s.Names(), 1)
				return
			}
			require.ErrorContains(t, err, dir+"/"+tt.file+": the link ")
			require.ErrorContains(t, err, "takes its scheme or host from a value")
			require.Empty(t, s.Names())
		})
	}

	t.Run("Layout", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", `<html><body>{{.Body}}<a href="https://{{.Lead.Company}}/">x</a></body></html>`)
		_, err := Load(dir)
		require.ErrorContains(t, err, dir+"/_layouts/default.html: the link ")
	})
}

func TestValueInHost(t *testing.T) {
	t.Parallel()
	v := placeholder("0")
	e := escapeURLComponent(v)
	for _, tt := range []struct {
		href string
		want bool
	}{
		{v, true},
		{"  " + e, true},
		{"https://" + e + "/", true},
		{"HTTPS://" + e, true},
		{"https://example.com" + e, true},
		{"https:" + e, true},
		{`https:\\` + e, true},
		{"//" + e, true},
		{"ht" + e, true},
		{"https://example.com/" + e, false},
		{"https://example.com?" + e, false},
		{"https://example.com#" + e, false},
		{"mailto:" + e, false},
		{"tel:" + e, false},
		{"/x/" + e, false},
		{"?q=" + e, false},
		{"https://example.com/", false},
		{unsubMarker, false},
		{unsubMarker + "?x=" + e, false},
	} {
		require.Equal(t, tt.want, valueInHost(tt.href), "%q", tt.href)
	}
}

// TestSignedURLIsALink checks that an alert's accept link, a SignedURL, is a link's
// whole address in HTML and Markdown alerts, while lead values in an alert stay
// escaped and may still not set a link's host.
func TestSignedURLIsALink(t *testing.T) {
	t.Parallel()
	const accept = "https://nurture.test/s/AQHp_-9xYz"
	dir := t.TempDir()
	writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
	writeFile(t, dir, "alerts/md.md", "---\nsubject: '{{.Lead.Company | default \"件名\"}}'\n---\n"+
		"{{.Lead.Company}} 様\n\n{{with .Alert}}[受付・差し戻し]({{.AcceptURL}})\n\n{{.Reason}}{{end}}\n")
	writeFile(t, dir, "alerts/page.html", "---\nsubject: '{{.Lead.Company | default \"件名\"}}'\n---\n"+
		`<p>{{.Lead.Company}}</p>{{with .Alert}}<p><a href="{{.AcceptURL}}">受付・差し戻し</a> {{.Reason}}</p>{{end}}`+"\n")
	set := loadSet(t, dir)

	l := &lead.Lead{ID: 1, Email: "a@example.com", Company: `<b>"株式会社"</b>`}
	for _, name := range []string{"alerts/md", "alerts/page"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := set.Render(name, Data{Lead: l, Alert: &Alert{AcceptURL: accept, Reason: `<script>x</script>`}})
			require.NoError(t, err)
			require.Contains(t, r.HTML, `<a href="`+accept+`">受付・差し戻し</a>`)
			require.Contains(t, r.Text, "受付・差し戻し ("+accept+")")
			require.Contains(t, r.HTML, "&lt;b&gt;&#34;株式会社&#34;&lt;/b&gt;")
			require.Contains(t, r.HTML, "&lt;script&gt;x&lt;/script&gt;")
			require.NotContains(t, r.HTML, "<b>")
			require.NotContains(t, r.HTML, "<script>")

			// A SignedURL that is not a plain absolute http(s) URL is a value like any
			// other: never a link's address as it is.
			for _, bad := range []SignedURL{`javascript:alert(1)`, `https://nurture.test/s/x" onmouseover="alert(1)`,
				`https://nurture.test/s/x)[y](https://evil.example/`, `//evil.example/s/x`, `https://user@evil.example/`} {
				r, err := set.Render(name, Data{Lead: l, Alert: &Alert{AcceptURL: bad}})
				require.NoError(t, err)
				require.NotContains(t, r.HTML, `href="`+string(bad)+`"`, bad)
				require.NotContains(t, r.HTML, "evil.example/\"", bad)
				require.NotContains(t, r.HTML, `href="javascript:`, bad)
				require.NotContains(t, r.HTML, `onmouseover="`, bad)
			}
		})
	}

	t.Run("LeadValuesInAnAlertStillCannotSetAHost", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ file, body string }{
			{"alerts/a.md", `{{with .Alert}}[x]({{.Reason}}){{end}}`},
			{"alerts/a.md", `{{with .Alert}}{{range .Engagement}}[x](https://{{.Detail}}/){{end}}{{end}}`},
			{"alerts/a.md", `{{with .Alert}}[受付]({{.AcceptURL}}) [x]({{$.Lead.Company}}){{end}}`},
			{"alerts/a.html", `{{with .Alert}}<a href="{{.Reason}}">x</a>{{end}}`},
			{"alerts/a.html", `<a href="{{.Lead.Company}}">x</a>`},
		} {
			dir := t.TempDir()
			writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
			writeFile(t, dir, tt.file, "---\nsubject: 件名\n---\n"+tt.body+"\n")
			_, err := Load(dir)
			require.ErrorContains(t, err, "takes its scheme or host from a value", tt.body)
		}
	})

	t.Run("TheShippedAlertLinksTheAcceptPage", func(t *testing.T) {
		t.Parallel()
		r, err := loadSet(t, "../../templates").Render("alerts/escalation", Data{Lead: l, Alert: &Alert{Kind: "new", AcceptURL: accept}})
		require.NoError(t, err)
		require.Contains(t, r.HTML, `href="`+accept+`"`)
		require.Contains(t, r.HTML, "&lt;b&gt;")
	})
}
