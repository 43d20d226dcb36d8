package message

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nurture-dev/nurture/engine/lead"
)

const unsubscribeURL = "https://nurture.example/u/token-abc"

// tracking rewrites link i to https://t.example/c/i and records what it was asked.
type tracking struct {
	mu    sync.Mutex
	calls []Link
}

func (tr *tracking) Tracking() *Tracking {
	return &Tracking{
		Links: EachLink(func(l Link) string {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			tr.calls = append(tr.calls, l)
			return fmt.Sprintf("https://t.example/c/%d", l.Index)
		}),
		PixelURL:    "https://t.example/o/pixel",
		HoneypotURL: "https://t.example/c/honeypot",
	}
}

func japaneseLead() *lead.Lead {
	employees := 350
	return &lead.Lead{
		ID:         42,
		Email:      "yamada@example.co.jp",
		FirstName:  "花子",
		LastName:   "山田",
		Company:    `<script>alert("x")</script>株式会社サンプル&テック`,
		Department: "人事部",
		Title:      "部長",
		Employees:  &employees,
		Attributes: map[string]any{"業種区分": "ソフトウェア"},
		CreatedAt:  time.Date(2025, 4, 1, 0, 30, 0, 0, time.UTC),
	}
}

func loadSet(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := Load(dir)
	require.NoError(t, err)
	return s
}

func TestLoad(t *testing.T) {
	t.Parallel()

	t.Run("ShippedTemplates", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "../../templates")
		require.Equal(t, []string{
			"alerts/digest", "alerts/escalation",
			"course/day1", "course/day2", "course/day3", "course/day4", "course/day5",
			"reengage/monthly",
			"seminar/follow", "seminar/reminder", "seminar/survey", "seminar/thanks",
			"whitepaper/case-study", "whitepaper/reminder", "whitepaper/thanks",
		}, s.Names())
		for _, name := range s.Names() {
			for _, l := range []*lead.Lead{japaneseLead(), {}} {
				r, err := s.Render(name, Data{Lead: l, UnsubscribeURL: unsubscribeURL})
				require.NoError(t, err, name)
				require.NotEmpty(t, r.Subject, name)
				require.Contains(t, r.HTML, `<html lang="ja">`, name)
				require.Contains(t, r.HTML, `<meta charset="utf-8"/>`, name)
				require.NotContains(t, r.HTML, "<script>", name)
				require.NotContains(t, r.HTML, "&lt;no value&gt;", name)
				require.NotContains(t, r.HTML, "&lt;nil&gt;", name)
				require.NotContains(t, r.Text, "{{", name)
			}
		}
	})

	t.Run("ShippedTemplatesFeedTheScenarios", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "../../templates")
		names := func(name string) []string {
			r, err := s.Render(name, Data{Lead: japaneseLead(), UnsubscribeURL: unsubscribeURL})
			require.NoError(t, err)
			var out []string
			for _, l := range r.Links {
				out = append(out, l.Name)
			}
			return out
		}
		require.Contains(t, names("whitepaper/thanks"), "download")
		require.Contains(t, names("whitepaper/case-study"), "case")
		require.Contains(t, names("course/day3"), "key")
		require.Contains(t, names("seminar/survey"), "survey")
		require.True(t, s.Transactional("seminar/thanks"), "the seminar's thank-you is the confirmation the lead asked for")

		r, err := s.Render("alerts/escalation", Data{Lead: japaneseLead()})
		require.NoError(t, err)
		require.Equal(t, `ホットリード: <script>alert("x")</script>株式会社サンプル&テック 山田 様`, r.Subject)
		require.Contains(t, r.Text, "2025年4月1日 09:30") // Japan time
		require.Contains(t, r.Text, "350名")
	})

	t.Run("BrokenTemplates", func(t *testing.T) {
		t.Parallel()
		s, err := Load("testdata/broken")
		require.Error(t, err)
		require.Equal(t, []string{"ok"}, s.Names(), "the good template is still loaded")

		want := []string{
			`testdata/broken/_layouts/bad_css.html:7: selector "a[href]" is not supported`,
			`testdata/broken/_layouts/bad_field.html:6:6: at <.Unsubscribe>: can't evaluate field Unsubscribe`,
			`testdata/broken/bad_syntax.md:7:17: unexpected "]" in operand`,
			`testdata/broken/bad_yaml.md:3:12: front matter: could not find end character of double-quoted text`,
			`testdata/broken/env.md:6:3: function "env" not defined`,
			`testdata/broken/html_field.html:5:6: at <date "2006年1月2日" .Lead.Company>: error calling date: date formats a time, not string`,
			`testdata/broken/missing_layout.md:3:9: layout "nosuch" not found`,
			`testdata/broken/missing_subject.md:1:1: the front matter has no subject`,
			`testdata/broken/subject_field.md:2:18: at <.Lead.Compny>: can't evaluate field Compny in type *lead.Lead`,
			`testdata/broken/unknown_field.md:6:13: at <.Lead.Nmae>: can't evaluate field Nmae in type *lead.Lead`,
			`testdata/broken/unknown_key.md:4:1: unknown front-matter key "subjet"`,
			`testdata/broken/uses_bad_layout.md:3:9: layout "bad_css" has problems (see testdata/broken/_layouts/bad_css.html)`,
		}
		errs := err.(interface{ Unwrap() []error }).Unwrap()
		require.Len(t, errs, len(want), err.Error())
		for i, e := range errs {
			var me *Error
			require.True(t, errors.As(e, &me), "%T is not an *Error", e)
			require.True(t, strings.HasPrefix(me.Error(), want[i]), "got  %s\nwant %s...", me.Error(), want[i])
		}
	})

	t.Run("ErrorPositions", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "templates/a.md:7:12: oops", (&Error{File: "templates/a.md", Line: 7, Column: 12, Msg: "oops"}).Error())
		require.Equal(t, "templates/a.md:7: oops", (&Error{File: "templates/a.md", Line: 7, Msg: "oops"}).Error())
		require.Equal(t, "templates/a.md: oops", (&Error{File: "templates/a.md", Msg: "oops"}).Error())
	})

	t.Run("NoEnvironmentFileOrNetworkFunctions", func(t *testing.T) {
		t.Parallel()
		for _, call := range []string{`{{env "HOME"}}`, `{{expandenv "$HOME"}}`, `{{readFile "/etc/passwd"}}`, `{{exec "id"}}`, `{{getHostByName "example.com"}}`, `{{now}}`} {
			dir := t.TempDir()
			writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
			writeFile(t, dir, "a.md", "---\nsubject: テスト\n---\n"+call+"\n")
			writeFile(t, dir, "b.html", "---\nsubject: '"+call+"'\n---\n<p>本文</p>\n")
			s, err := Load(dir)
			require.Error(t, err, call)
			require.Empty(t, s.Names(), call)
			require.Contains(t, err.Error(), "not defined", call)
		}
	})

	t.Run("CallReachesNothing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
		writeFile(t, dir, "a.md", "---\nsubject: テスト\n---\n{{call .Lead.Attributes.f}}\n")
		_, err := Load(dir)
		require.Error(t, err)
		require.Contains(t, err.Error(), "a.md:4:")
	})

	t.Run("LayoutWithoutBody", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Subject}}</body></html>")
		writeFile(t, dir, "a.md", "---\nsubject: テスト\n---\n本文\n")
		_, err := Load(dir)
		require.ErrorContains(t, err, "/_layouts/default.html:1: the layout never shows the message")
		require.ErrorContains(t, err, `/a.md:1: layout "default" has problems`)
	})

	t.Run("SubjectEmptyWithoutFallback", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
		writeFile(t, dir, "a.md", "---\nsubject: '{{.Lead.Company}}'\n---\n本文\n")
		_, err := Load(dir)
		require.ErrorContains(t, err, "a.md:2:11: the subject is empty for a lead with no fields")
	})

	t.Run("SameNameTwice", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
		writeFile(t, dir, "a.md", "---\nsubject: テスト\n---\n本文\n")
		writeFile(t, dir, "a.html", "---\nsubject: テスト\n---\n<p>本文</p>\n")
		s, err := Load(dir)
		require.ErrorContains(t, err, "template a is also defined by")
		require.False(t, s.Has("a"))
	})

	t.Run("BadAddress", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
		writeFile(t, dir, "a.md", "---\nsubject: テスト\nfrom: not an address\n---\n本文\n")
		_, err := Load(dir)
		require.ErrorContains(t, err, "a.md:3:7: from \"not an address\" is not an address")
	})

	t.Run("TransactionalMarksMailTheLeadAskedFor", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
		writeFile(t, dir, "thanks.md", "---\nsubject: テスト\ntransactional: true\n---\n本文\n")
		writeFile(t, dir, "news.md", "---\nsubject: テスト\ntransactional: false\n---\n本文\n")
		writeFile(t, dir, "plain.md", "---\nsubject: テスト\n---\n本文\n")
		s, err := Load(dir)
		require.NoError(t, err)
		require.True(t, s.Transactional("thanks"))
		require.False(t, s.Transactional("news"))
		require.False(t, s.Transactional("plain"))
		require.False(t, s.Transactional("missing"))

		writeFile(t, dir, "bad.md", "---\nsubject: テスト\ntransactional: yes please\n---\n本文\n")
		_, err = Load(dir)
		require.ErrorContains(t, err, "bad.md:3:16: transactional must be true or false")
	})

	t.Run("UnreadableDir", func(t *testing.T) {
		t.Parallel()
		s, err := Load("testdata/no-such-dir")
		require.Error(t, err)
		require.Nil(t, s)
	})
}

func TestRender(t *testing.T) {
	t.Parallel()

	t.Run("JapaneseLeadRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "../../templates")
		tr := &tracking{}
		r, err := s.Render("whitepaper/case-study", Data{Lead: japaneseLead(), UnsubscribeURL: unsubscribeURL, Tracking: tr.Tracking()})
		require.NoError(t, err)

		require.Equal(t, "応募数2.4倍・採用期間40%短縮を実現した導入事例のご紹介", r.Subject)
		require.Equal(t, "従業員300名のSaaS企業が、半年でエンジニア5名の採用に成功した方法とは。", r.Preheader)

		// CSS inlined, the <style> gone but for what cannot be inlined.
		require.Contains(t, r.HTML, `<p style="margin:0 0 16px">`)
		require.Contains(t, r.HTML, `<a class="button" href="https://t.example/c/0" style="display:inline-block;padding:12px 28px;background-color:#2563eb;color:#ffffff;font-weight:bold;text-decoration:none;border-radius:6px">導入事例を読む</a>`)
		require.Equal(t, 1, strings.Count(r.HTML, "<style>"))
		require.Regexp(t, `(?s)<style>\s*@media only screen and \(max-width: 620px\) \{.*\}\s*</style></head>`, r.HTML)

		// The hostile company name is text, wherever it is shown.
		require.Contains(t, r.HTML, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;株式会社サンプル&amp;テック<br/>`)
		require.NotContains(t, r.HTML, "<script>")
		require.Contains(t, r.Text, `<script>alert("x")</script>株式会社サンプル&テック`+"\n山田 様\n")

		// Links, their names, and the tracked URL in both parts.
		require.Equal(t, []Link{{Index: 0, URL: "https://www.nurture.example/cases/sampletech", Name: "case"}}, r.Links)
		require.Equal(t, r.Links, tr.calls)
		require.NotContains(t, r.HTML, "data-name")
		require.NotContains(t, r.HTML, "data-notrack")
		require.NotContains(t, r.HTML, "www.nurture.example/cases")
		require.Contains(t, r.Text, "導入事例を読む (https://t.example/c/0)")

		// The unsubscribe link is never rewritten.
		require.Contains(t, r.HTML, `<a href="`+unsubscribeURL+`" style="color:#6b7280;text-decoration:underline">配信停止</a>`)
		require.Contains(t, r.Text, "配信停止\n("+unsubscribeURL+")")

		// The honeypot then the pixel end the body, both invisible.
		require.True(t, strings.HasSuffix(r.HTML,
			`<div style="display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;font-size:0;line-height:0" aria-hidden="true">`+
				`<a href="https://t.example/c/honeypot" tabindex="-1" aria-hidden="true" style="display:none"></a></div>`+
				`<img src="https://t.example/o/pixel" width="1" height="1" alt="" style="display:block;border:0"/></body></html>`), r.HTML)
		require.NotContains(t, r.Text, "honeypot")
		require.NotContains(t, r.Text, "pixel")
		// The hidden preheader is not in the text part.
		require.NotContains(t, r.Text, "半年でエンジニア5名の採用に成功した方法とは")
	})

	t.Run("TrackingRewritesEveryHTTPLinkButMailtoTelNotrackAndUnsubscribe", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		tr := &tracking{}
		r, err := s.Render("links", Data{Lead: japaneseLead(), UnsubscribeURL: unsubscribeURL, Tracking: tr.Tracking()})
		require.NoError(t, err)
		require.Equal(t, "リンクのご案内 山田 様", r.Subject)
		require.Equal(t, "ナーチャー株式会社 <info@nurture.example>", r.From)
		require.Equal(t, "support@nurture.example", r.ReplyTo)
		require.Equal(t, []Link{
			{Index: 0, URL: "https://www.nurture.example/product", Name: "製品サイト"},
			{Index: 1, URL: "https://www.nurture.example/cases/sampletech", Name: "case"},
			{Index: 2, URL: "https://www.nurture.example/lp?company=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%E3%82%B5%E3%83%B3%E3%83%97%E3%83%AB%26%E3%83%86%E3%83%83%E3%82%AF", Name: `<script>alert("x")</script>株式会社サンプル&テック様向けのページ`},
		}, r.Links)
		require.Equal(t, r.Links, tr.calls)

		hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(r.HTML, -1)
		var got []string
		for _, h := range hrefs {
			got = append(got, h[1])
		}
		require.Equal(t, []string{
			"https://t.example/c/0",
			"https://t.example/c/1",
			"tel:0300000000",
			"mailto:info@nurture.example",
			"https://www.nurture.example/privacy", // data-notrack
			"https://t.example/c/2",
			unsubscribeURL,
			"https://t.example/c/honeypot",
		}, got)

		require.Equal(t, `山田 様

製品サイト (https://t.example/c/0)をご覧ください。

導入事例を読む (https://t.example/c/1)

お電話は03-0000-0000 (0300000000)、メールはinfo@nurture.exampleまで。

プライバシーポリシー (https://www.nurture.example/privacy)

<script>alert("x")</script>株式会社サンプル&テック様向けのページ
(https://t.example/c/2)

・一つ目の項目
・二つ目の項目

配信停止 (`+unsubscribeURL+`)
`, r.Text)
	})

	t.Run("NoTrackingLeavesLinksAsAuthored", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		r, err := s.Render("links", Data{Lead: japaneseLead(), UnsubscribeURL: unsubscribeURL})
		require.NoError(t, err)
		require.Len(t, r.Links, 3)
		require.Contains(t, r.HTML, `href="https://www.nurture.example/product"`)
		require.Contains(t, r.Text, "製品サイト (https://www.nurture.example/product)")
		require.NotContains(t, r.HTML, "<img")
		require.NotContains(t, r.HTML, "t.example")
	})

	t.Run("FallbackGreeting", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "../../templates")
		for _, l := range []*lead.Lead{{Email: "a@example.com"}, nil} {
			r, err := s.Render("course/day1", Data{Lead: l, UnsubscribeURL: unsubscribeURL})
			require.NoError(t, err)
			require.Contains(t, r.HTML, "ご担当者 様")
			require.True(t, strings.HasPrefix(r.Text, "ナーチャー株式会社\n\nご担当者 様\n"), r.Text)
		}
	})

	t.Run("LeadValuesCannotInjectMarkdown", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		hostile := "[x](https://evil.example) https://evil.example/bare www.evil.example **b** <img src=x onerror=alert(1)> `code`\n# 見出し"
		tr := &tracking{}
		r, err := s.Render("greeting", Data{Lead: &lead.Lead{LastName: hostile, Company: "_株式会社_"}, Tracking: tr.Tracking()})
		require.NoError(t, err)
		require.Contains(t, r.HTML, "[x](https://evil.example) https://evil.example/bare www.evil.example **b** &lt;img src=x onerror=alert(1)&gt; `code`\n# 見出し 様")
		require.Contains(t, r.HTML, "_株式会社_のご発展")
		require.NotContains(t, r.HTML, "evil.example\"")
		require.NotContains(t, r.HTML, "<strong>")
		require.NotContains(t, r.HTML, "<em>")
		require.NotContains(t, r.HTML, "<code>")
		require.NotContains(t, r.HTML, "<h1")
		require.NotContains(t, r.HTML, "<img src=\"x\"")
		require.Empty(t, r.Links)
		require.Contains(t, r.Text, "[x](https://evil.example)")
	})

	t.Run("LeadValuesCannotAddAttributesInRawHTML", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		// An unquoted attribute in the marketer's raw HTML: a space or = in a value
		// must not end it and start an attribute of the lead's own.
		for _, company := range []string{"x href=https://evil.example", "x data-notrack", "x onerror=alert(1)", "x\tstyle=color:red", "a`b"} {
			tr := &tracking{}
			r, err := s.Render("rawattrs", Data{Lead: &lead.Lead{Company: company}, UnsubscribeURL: unsubscribeURL, Tracking: tr.Tracking()})
			require.NoError(t, err)
			require.Equal(t, []Link{{Index: 0, URL: "https://www.nurture.example/whitepaper", Name: "資料をダウンロード"}}, r.Links, company)
			doc, err := html.Parse(strings.NewReader(r.HTML))
			require.NoError(t, err)
			a, img := findElement(doc, atom.A), findElement(doc, atom.Img)
			require.Equal(t, company, getAttr(a, "title"), "the value stays in its attribute")
			require.Equal(t, company, getAttr(img, "alt"))
			require.Equal(t, "https://t.example/c/0", getAttr(a, "href"))
			for _, n := range []*html.Node{a, img} {
				for _, at := range n.Attr {
					require.Contains(t, []string{"title", "href", "src", "alt", "style"}, at.Key, company)
				}
			}
			require.NotContains(t, getAttr(a, "style")+getAttr(img, "style"), "color:red")
		}
	})

	t.Run("HTMLBodyEscapesLeadValues", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		r, err := s.Render("hostile", Data{Lead: &lead.Lead{
			LastName: "山田",
			Company:  `"><script>alert(1)</script>`,
			Source:   "javascript:alert(1)",
		}})
		require.NoError(t, err)
		require.Contains(t, r.HTML, `<p style="margin:0 0 16px;color:#111111">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; 山田 様</p>`)
		require.Contains(t, r.HTML, `title="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
		require.Contains(t, r.HTML, `href="#ZgotmplZ"`)
		require.NotContains(t, r.HTML, "javascript:")
		require.NotContains(t, r.HTML, "<script>")
	})

	t.Run("SubjectIsOneLine", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		r, err := s.Render("hostile", Data{Lead: &lead.Lead{LastName: "山田", Company: "サンプル\r\nBcc: victim@example.com\n"}})
		require.NoError(t, err)
		require.Equal(t, "サンプル Bcc: victim@example.com 山田 様", r.Subject)
	})

	t.Run("Functions", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		r, err := s.Render("greeting", Data{Lead: japaneseLead()})
		require.NoError(t, err)
		require.Contains(t, r.Text, "上げます。ソフトウェア\n")
	})

	t.Run("UnknownTemplate", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "testdata/render")
		_, err := s.Render("nosuch", Data{})
		require.ErrorIs(t, err, ErrUnknownTemplate)
		require.False(t, s.Has("nosuch"))
		require.True(t, s.Has("links"))
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := loadSet(t, "../../templates")
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				l := japaneseLead()
				l.LastName = fmt.Sprintf("山田%d", i)
				tr := &tracking{}
				r, err := s.Render("course/day3", Data{Lead: l, UnsubscribeURL: unsubscribeURL, Tracking: tr.Tracking()})
				require.NoError(t, err)
				require.Contains(t, r.Text, l.LastName+" 様")
			})
		}
		wg.Wait()
	})
}

func TestFunctions(t *testing.T) {
	t.Parallel()

	t.Run("Default", func(t *testing.T) {
		t.Parallel()
		n := 0
		var nilTime *time.Time
		require.Equal(t, "x", fnDefault("x"))
		require.Equal(t, "x", fnDefault("x", ""))
		require.Equal(t, "x", fnDefault("x", nil))
		require.Equal(t, "x", fnDefault("x", 0))
		require.Equal(t, "x", fnDefault("x", &n))
		require.Equal(t, "x", fnDefault("x", nilTime))
		require.Equal(t, "x", fnDefault("x", []string{}))
		require.Equal(t, "山田", fnDefault("x", "山田"))
		n = 3
		require.Equal(t, 3, fnDefault("x", &n))
	})

	t.Run("Date", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2025, 12, 31, 15, 0, 0, 0, time.UTC)
		got, err := fnDate("2006年1月2日", at)
		require.NoError(t, err)
		require.Equal(t, "2026年1月1日", got) // Japan time
		got, err = fnDate("2006年1月2日", &at)
		require.NoError(t, err)
		require.Equal(t, "2026年1月1日", got)
		got, err = fnDate("2006年1月2日", (*time.Time)(nil))
		require.NoError(t, err)
		require.Empty(t, got)
		_, err = fnDate("2006", "2025")
		require.Error(t, err)
	})

	t.Run("Attr", func(t *testing.T) {
		t.Parallel()
		l := &lead.Lead{Attributes: map[string]any{"業種区分": "製造", "人数": float64(120), "予算": true}}
		require.Equal(t, "製造", fnAttr(l, "業種区分"))
		require.Equal(t, "120", fnAttr(l, "人数"))
		require.Equal(t, "true", fnAttr(l, "予算"))
		require.Empty(t, fnAttr(l, "ない"))
		require.Empty(t, fnAttr(nil, "業種区分"))
	})
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}
