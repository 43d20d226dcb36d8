package message

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

// TestHostileTemplatesAreRefused loads each file of testdata/hostile on its own and
// requires it refused with ErrLimit, within hangBound and 100 MB. It measures
// allocation for the whole process, so it does not run in parallel (parallel tests
// start once the sequential ones are done).
func TestHostileTemplatesAreRefused(t *testing.T) {
	const dir = "testdata/hostile"
	layout, err := os.ReadFile(filepath.Join(dir, "_layouts", "default.html"))
	require.NoError(t, err)
	type hostile struct{ file, layout, template string }
	var cases []hostile
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		cases = append(cases, hostile{file: e.Name(), layout: string(layout), template: string(src)})
	}
	layouts, err := os.ReadDir(filepath.Join(dir, "_layouts"))
	require.NoError(t, err)
	for _, e := range layouts {
		if e.Name() == "default.html" {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, "_layouts", e.Name()))
		require.NoError(t, err)
		cases = append(cases, hostile{file: "_layouts/" + e.Name(), layout: string(src), template: "---\nsubject: 件名\n---\n本文\n"})
	}
	require.GreaterOrEqual(t, len(cases), 10)

	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tmp := t.TempDir()
			writeFile(t, tmp, "_layouts/default.html", c.layout)
			name := c.file
			if strings.HasPrefix(name, "_layouts/") {
				name = "ok.md"
			}
			writeFile(t, tmp, name, c.template)

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			type loaded struct {
				set *Set
				err error
			}
			done := make(chan loaded, 1)
			go func() {
				s, err := Load(tmp)
				done <- loaded{s, err}
			}()
			var got loaded
			select {
			case got = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: still loading after 30s", c.file)
			}
			took := time.Since(start)
			runtime.ReadMemStats(&after)

			require.Error(t, got.err)
			require.ErrorIs(t, got.err, ErrLimit)
			want := c.file
			if strings.HasPrefix(c.file, "_layouts/") {
				want = "_layouts/default.html"
			}
			require.ErrorContains(t, got.err, filepath.ToSlash(filepath.Join(tmp, want)), "the problem names the file")
			require.Empty(t, got.set.Names())
			t.Logf("refused in %s", took)
			require.Less(t, took, hangBound)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(100<<20), "bytes allocated")
		})
	}
}

// TestRunLimitsAtSend checks that a template that passed at load (its sample leads
// are small) still stops, quickly and with ErrLimit, for a lead whose values make it
// loop or write too much.
func TestRunLimitsAtSend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
	writeFile(t, dir, "employees.md", "---\nsubject: 件名\n---\n{{with .Lead.Employees}}{{range .}}.{{end}}{{end}}\n")
	writeFile(t, dir, "tags.html", "---\nsubject: 件名\n---\n<p>{{range .Lead.Tags}}{{range $.Lead.Tags}}{{range $.Lead.Tags}}{{end}}{{end}}{{end}}</p>\n")
	writeFile(t, dir, "company.md", "---\nsubject: 件名\n---\n{{range 2000}}{{$.Lead.Company}}{{end}}\n")
	writeFile(t, dir, "subject.md", "---\nsubject: '件名{{range .Lead.Tags}}{{range $.Lead.Tags}}{{range $.Lead.Tags}}x{{end}}{{end}}{{end}}'\n---\n本文\n")
	writeFile(t, dir, "attr.md", "---\nsubject: 件名\n---\n{{range len (attr .Lead \"x\")}}{{range len (attr $.Lead \"x\")}}{{end}}{{end}}\n")
	set := loadSet(t, dir)

	employees := 1_000_000_000
	tags := make([]string, 200)
	for i := range tags {
		tags[i] = "t"
	}
	hostile := &lead.Lead{ID: 1, Email: "a@example.com", Employees: &employees, Tags: tags,
		Company: strings.Repeat("株", 1000), Attributes: map[string]any{"x": strings.Repeat("a", 5000)}}
	for _, name := range set.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// An ordinary lead first, so that the render cache knows the shape.
			_, err := set.Render(name, Data{Lead: japaneseLead(), UnsubscribeURL: unsubscribeURL, Tracking: (&tracking{}).Tracking()})
			require.NoError(t, err, "an ordinary lead")
			for range 2 {
				start := time.Now()
				_, err := set.Render(name, Data{Lead: hostile, UnsubscribeURL: unsubscribeURL, Tracking: (&tracking{}).Tracking()})
				require.ErrorIs(t, err, ErrLimit)
				require.Less(t, time.Since(start), hangBound)
			}
		})
	}
}

// TestBoundTemplatesRenderAsBefore checks that what bound adds to templates changes
// nothing they print: data through {{template}}, ranges with variables and {{else}},
// html and urlquery last, pipelines of functions.
func TestBoundTemplatesRenderAsBefore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "_layouts/default.html", `<html><body>{{define "n"}}{{.}}{{end}}{{template "n" .Subject}}|{{.Body}}</body></html>`)
	writeFile(t, dir, "a.html", `---
subject: '{{range $i, $t := .Lead.Tags}}{{if $i}}、{{end}}{{$t}}{{else}}なし{{end}}'
---
{{define "tag"}}<i>{{.}}</i>{{end}}
<p>{{range .Lead.Tags}}{{template "tag" .}}{{end}}{{template "none"}}</p>
{{define "none"}}[{{.}}]{{end}}
<p>{{.Lead.Company | printf "%s!" | html}} {{urlquery .Lead.Company}} {{len .Lead.Tags | printf "%03d"}}</p>
<p>{{range 3}}{{.}}{{end}} {{with $x := printf "%s%s" .Lead.LastName .Lead.FirstName}}{{$x}}{{end}}</p>
`)
	writeFile(t, dir, "b.md", "---\nsubject: '{{.Lead.LastName | printf \"%s様\"}}'\n---\n{{range $k, $v := .Lead.Attributes}}- {{$k}}: {{$v}}\n{{end}}\n")
	set := loadSet(t, dir)

	l := japaneseLead()
	l.Tags = []string{"採用", "web"}
	r, err := set.Render("a", Data{Lead: l, UnsubscribeURL: unsubscribeURL})
	require.NoError(t, err)
	require.Equal(t, "採用、web", r.Subject)
	require.Contains(t, r.HTML, "<body>採用、web|")
	require.Contains(t, r.HTML, "<i>採用</i><i>web</i>[]")
	require.Contains(t, r.HTML, "株式会社サンプル&amp;テック!")
	require.Contains(t, r.HTML, "%E6%A0%AA")
	require.Contains(t, r.HTML, " 002</p>")
	require.Contains(t, r.HTML, "<p>012 山田花子</p>")

	r, err = set.Render("b", Data{Lead: l, UnsubscribeURL: unsubscribeURL})
	require.NoError(t, err)
	require.Equal(t, "山田様", r.Subject)
	require.Contains(t, r.HTML, "<li>業種区分: ソフトウェア</li>")
}

// FuzzTemplateBounds checks that any body is refused at load or renders within the
// limits of a run, for a lead whose values are as large as an API lets them be.
//
//	go test -run '^$' -fuzz FuzzTemplateBounds -fuzztime 60s ./engine/message/
func FuzzTemplateBounds(f *testing.F) {
	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		src, err := os.ReadFile(filepath.Join("testdata/hostile", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		_, body, _ := strings.Cut(strings.TrimPrefix(string(src), "---\n"), "---\n")
		f.Add(body, strings.HasSuffix(e.Name(), ".html"))
	}
	f.Add("{{range .Lead.Tags}}{{.}}{{end}}", false)
	f.Add(`{{define "a"}}{{.}}{{end}}{{template "a" .Lead.Company}}`, true)
	layoutSrc, err := os.ReadFile("testdata/hostile/_layouts/default.html")
	if err != nil {
		f.Fatal(err)
	}
	l, err := parseLayout("default.html", "default", string(layoutSrc))
	if err != nil {
		f.Fatal(err)
	}
	layouts := map[string]*layout{"default": l}
	employees := 1 << 40
	tags := make([]string, 100)
	for i := range tags {
		tags[i] = strings.Repeat("タ", 100)
	}
	hostile := &lead.Lead{ID: 1, Email: "a@example.com", Employees: &employees, Tags: tags,
		Company: strings.Repeat("株<&>", 1000), LastName: strings.Repeat("山", 1000),
		Attributes: map[string]any{"x": strings.Repeat("a", 10000), "y": []any{1, 2, 3}}}
	f.Fuzz(func(t *testing.T, body string, html bool) {
		file := "fuzz.md"
		if html {
			file = "fuzz.html"
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				panic(fmt.Sprintf("still loading or rendering after 20s: %q", body))
			}
		}()
		start := time.Now()
		tmpl, err := parseTemplate(file, "fuzz", "---\nsubject: 件名\n---\n"+body, layouts, nil)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("load took %s", took)
		}
		if err != nil {
			return
		}
		start = time.Now()
		r, err := tmpl.render(Data{Lead: hostile, UnsubscribeURL: unsubscribeURL, Tracking: (&tracking{}).Tracking()})
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("render took %s", took)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, ErrLimit) {
				t.Fatalf("render: %v", err)
			}
			return
		}
		if len(r.Subject) > maxRunOutput || len(r.HTML) > 8*maxRunOutput || len(r.Text) > 8*maxRunOutput {
			t.Fatalf("a message of %d bytes of HTML, %d of text", len(r.HTML), len(r.Text))
		}
	})
}
