package message

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestInlineCSS(t *testing.T) {
	t.Parallel()

	inline := func(t *testing.T, css, body string) (string, error) {
		t.Helper()
		doc, err := html.Parse(strings.NewReader("<html><head><style>" + css + "</style></head><body>" + body + "</body></html>"))
		require.NoError(t, err)
		if err := inlineCSS(doc, findElement(doc, atom.Head)); err != nil {
			return "", err
		}
		var b strings.Builder
		require.NoError(t, html.Render(&b, doc))
		return b.String(), nil
	}

	t.Run("SelectorsAndCascade", func(t *testing.T) {
		t.Parallel()
		got, err := inline(t, `
/* a comment; with { braces } */
p { color: #333; margin: 0 }
.content p { color: #111 }
p.note { color: #c00; font-weight: bold }
#main .note { padding: 4px }
tr > td { padding: 8px }
td td { padding: 0 }
* { box-sizing: border-box }
a { color: blue !important }
.pad { padding: 10px; padding-top: 2px }
.pad.more { padding: 20px }
`, `<div class="content" id="main"><p>本文</p><p class="note" style="color: green">注意</p></div>
<table><tr><td>セル<table><tr><td>内側</td></tr></table></td></tr></table>
<a href="#" style="color: red">リンク</a><div class="pad more">余白</div>`)
		require.NoError(t, err)
		require.Contains(t, got, `<p style="box-sizing:border-box;margin:0;color:#111">本文</p>`)
		require.Contains(t, got, `<p class="note" style="box-sizing:border-box;margin:0;font-weight:bold;padding:4px;color:green">注意</p>`, "the element's own style wins over the sheet")
		require.Contains(t, got, `<td style="box-sizing:border-box;padding:8px">セル`)
		require.Contains(t, got, `<td style="box-sizing:border-box;padding:0">内側</td>`, "td td is more specific than tr > td")
		require.Contains(t, got, `<a href="#" style="box-sizing:border-box;color:blue">リンク</a>`, "!important wins over the element's own style")
		require.Contains(t, got, `<div class="pad more" style="box-sizing:border-box;padding-top:2px;padding:20px">余白</div>`, "a later shorthand overrides an earlier longhand")
		require.NotContains(t, got, "<style>")
	})

	t.Run("KeepsMediaQueriesAndPseudoClasses", func(t *testing.T) {
		t.Parallel()
		got, err := inline(t, `
p { margin: 0 }
a:hover, a { color: red }
@media (max-width: 600px) { .content { padding: 8px !important; } p { margin: 4px } }
@charset "utf-8";
`, `<p>本文</p><a href="#">x</a>`)
		require.NoError(t, err)
		require.Contains(t, got, "<head><style>\na:hover{color: red}\n@media (max-width: 600px) { .content { padding: 8px !important; } p { margin: 4px } }\n</style></head>")
		require.Contains(t, got, `<p style="margin:0">本文</p><a href="#" style="color:red">x</a>`)
	})

	t.Run("RejectsWhatItCannotInline", func(t *testing.T) {
		t.Parallel()
		for css, want := range map[string]string{
			"a[href] { color: red }":         `selector "a[href]" is not supported`,
			"p + p { margin: 0 }":            `selector "p + p" is not supported`,
			"p ~ p { margin: 0 }":            `selector "p ~ p" is not supported`,
			"p { color: red":                 "not closed",
			"p { color }":                    `"color" is not a declaration`,
			"@import url(x.css);":            "@import is not supported",
			"\n\np > { color: red }":         "CSS line 3:",
			".a { .b { color: red } }":       "not closed by }",
			"} p { color: red }":             "expected a selector",
			"p, { color: red }":              "empty selector",
			"p { background: url(a;b.png) }": "",
		} {
			_, err := inline(t, css, "<p>x</p>")
			if want == "" {
				require.NoError(t, err, css)
				continue
			}
			require.ErrorContains(t, err, want, css)
		}
	})

	t.Run("CheckStylesReportsTheLineInTheFile", func(t *testing.T) {
		t.Parallel()
		src := "<html>\n<head>\n<style>\np { margin: 0 }\n\na[x] { color: red }\n</style>"
		err := checkStyles("t.html", src, 10)
		require.EqualError(t, err, `t.html:15: selector "a[x]" is not supported by the inliner: use type (p), class (.note), id (#top), compounds (p.note), descendant (td p) and child (tr > td) selectors`)
	})
}

func TestNeutraliseURLs(t *testing.T) {
	t.Parallel()
	doc, err := html.Parse(strings.NewReader(`<a href=" java	script:alert(1)">a</a><a href="VBScript:x">b</a><a href="data:text/html,x">c</a>` +
		`<img src="data:image/png;base64,AAAA"><img src="cid:logo"><a href="/relative">d</a><a href="tel:0300000000">e</a>`))
	require.NoError(t, err)
	neutraliseURLs(doc)
	var b strings.Builder
	require.NoError(t, html.Render(&b, doc))
	require.Equal(t, `<html><head></head><body><a href="about:invalid">a</a><a href="about:invalid">b</a><a href="about:invalid">c</a>`+
		`<img src="data:image/png;base64,AAAA"/><img src="cid:logo"/><a href="/relative">d</a><a href="tel:0300000000">e</a></body></html>`, b.String())
}
