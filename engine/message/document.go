package message

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// finished is a rendered HTML document made ready to send.
type finished struct {
	html  string
	text  string
	ops   []textOp // the text part before it is laid out
	links []Link
	// cutNames says which link names came from the link's text, to be cut to 60
	// characters (only with fullNames).
	cutNames []bool
	root     *html.Node
}

// finish makes the HTML a layout rendered into the message that is sent: it says
// it is Japanese in UTF-8, its CSS is inlined, unsafe URLs are neutralised, links
// are listed and rewritten, the text part is made from it, and the honeypot and the
// pixel are added.
//
// The render cache finishes documents whose values are still placeholders: with
// fullNames it leaves link names untruncated and the text part in paragraphs (ops),
// to be cut and wrapped once the values are in.
func finish(src string, d Data, fullNames bool) (*finished, error) {
	root, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	doc := findElement(root, atom.Html)
	head := findElement(root, atom.Head)
	body := findElement(root, atom.Body)
	if doc == nil || head == nil || body == nil { // html.Parse always makes them
		return nil, fmt.Errorf("parse html: no <html>, <head> or <body>")
	}
	if getAttr(doc, "lang") == "" {
		setAttr(doc, "lang", "ja")
	}
	ensureCharset(head)
	if err := inlineCSS(root, head); err != nil {
		return nil, err
	}
	neutraliseURLs(root)
	links, cutNames, err := rewriteLinks(body, d, fullNames)
	if err != nil {
		return nil, err
	}
	ops := textOps(body)
	if t := d.Tracking; t != nil {
		if t.HoneypotURL != "" {
			// Hidden three ways (the wrapper, the link, no text), out of the tab
			// order and of the accessibility tree: only a machine follows it.
			div := element(atom.Div, "style", "display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;font-size:0;line-height:0", "aria-hidden", "true")
			div.AppendChild(element(atom.A, "href", t.HoneypotURL, "tabindex", "-1", "aria-hidden", "true", "style", "display:none"))
			body.AppendChild(div)
		}
		if t.PixelURL != "" {
			body.AppendChild(element(atom.Img, "src", t.PixelURL, "width", "1", "height", "1", "alt", "", "style", "display:block;border:0"))
		}
	}
	var b strings.Builder
	if err := html.Render(&b, root); err != nil {
		return nil, fmt.Errorf("render html: %w", err)
	}
	f := &finished{html: b.String(), ops: ops, links: links, cutNames: cutNames, root: root}
	if !fullNames {
		f.text = layoutText(ops, nil)
	}
	return f, nil
}

// ensureCharset makes the document declare UTF-8, the only charset nurture sends.
func ensureCharset(head *html.Node) {
	for n := head.FirstChild; n != nil; n = n.NextSibling {
		if n.Type != html.ElementNode || n.DataAtom != atom.Meta {
			continue
		}
		if getAttr(n, "charset") != "" {
			setAttr(n, "charset", "utf-8")
			return
		}
		if strings.EqualFold(getAttr(n, "http-equiv"), "content-type") {
			setAttr(n, "content", "text/html; charset=utf-8")
			return
		}
	}
	head.InsertBefore(element(atom.Meta, "charset", "utf-8"), head.FirstChild)
}

// urlAttrs are the attributes that hold a URL a mail client may follow or load.
var urlAttrs = map[string]bool{"href": true, "src": true, "background": true, "action": true, "formaction": true, "poster": true, "cite": true}

// neutraliseURLs replaces URLs whose scheme a mail has no use for (javascript:,
// vbscript:, data: outside images...) with a harmless one, whoever wrote them.
func neutraliseURLs(root *html.Node) {
	walk(root, func(n *html.Node) bool {
		for i, a := range n.Attr {
			if a.Namespace != "" || !urlAttrs[a.Key] {
				continue
			}
			switch urlScheme(a.Val) {
			case "", "http", "https", "mailto", "tel":
			case "cid", "data":
				if n.DataAtom == atom.Img && a.Key == "src" {
					continue
				}
				n.Attr[i].Val = "about:invalid"
			default:
				n.Attr[i].Val = "about:invalid"
			}
		}
		return true
	})
}

// urlScheme returns the lower-case scheme of u, or "" for a relative URL. It reads
// u as a browser does, ignoring tabs and newlines and surrounding spaces.
func urlScheme(u string) string {
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimFunc(u, func(r rune) bool { return r <= ' ' }))
	i := strings.IndexAny(u, ":/?#")
	if i <= 0 || u[i] != ':' {
		return ""
	}
	return strings.ToLower(u[:i])
}

// rewriteLinks lists the trackable links under body and, with tracking, points them
// at their tracked URLs. It removes the data-name and data-notrack attributes.
// With fullNames, names made from a link's text are left whole, and cut says which.
func rewriteLinks(body *html.Node, d Data, fullNames bool) (links []Link, cut []bool, err error) {
	var nodes []*html.Node
	shorten := func(s string) string {
		if fullNames {
			return s
		}
		return truncate(s, 60)
	}
	walk(body, func(n *html.Node) bool {
		notrack := hasAttr(n, "data-notrack")
		name := strings.TrimSpace(getAttr(n, "data-name"))
		removeAttr(n, "data-notrack")
		removeAttr(n, "data-name")
		if n.DataAtom != atom.A && n.DataAtom != atom.Area || !hasAttr(n, "href") {
			return true
		}
		u := strings.TrimSpace(getAttr(n, "href"))
		switch {
		case notrack:
			return true
		case urlScheme(u) != "http" && urlScheme(u) != "https":
			return true
		case d.UnsubscribeURL != "" && u == d.UnsubscribeURL:
			return true
		}
		fromText := name == ""
		if name == "" {
			name = shorten(collapseSpace(textContent(n)))
		}
		if name == "" {
			if img := findElement(n, atom.Img); img != nil {
				name = shorten(collapseSpace(getAttr(img, "alt")))
			}
		}
		i := len(links)
		links = append(links, Link{Index: i, URL: u, Name: name})
		cut = append(cut, fromText)
		nodes = append(nodes, n)
		return true
	})
	if d.Tracking == nil || d.Tracking.Links == nil {
		return links, cut, nil
	}
	urls, err := d.Tracking.track(links)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range nodes {
		setAttr(n, "href", urls[i])
	}
	return links, cut, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

// collapseSpace trims s and makes each run of white space in it one space.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// walk calls f for every element under n in document order, and for n itself;
// when f returns false, walk skips that element's children.
func walk(n *html.Node, f func(*html.Node) bool) {
	if n.Type == html.ElementNode && !f(n) {
		return
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling // f may remove c
		walk(c, f)
		c = next
	}
}

func findElement(n *html.Node, a atom.Atom) *html.Node {
	var found *html.Node
	walk(n, func(n *html.Node) bool {
		if found == nil && n.DataAtom == a {
			found = n
		}
		return found == nil
	})
	return found
}

func textContent(n *html.Node) string {
	var b strings.Builder
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(n)
	return b.String()
}

func element(a atom.Atom, attrs ...string) *html.Node {
	n := &html.Node{Type: html.ElementNode, DataAtom: a, Data: a.String()}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attr = append(n.Attr, html.Attribute{Key: attrs[i], Val: attrs[i+1]})
	}
	return n
}

func getAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return true
		}
	}
	return false
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func removeAttr(n *html.Node, key string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
			return
		}
	}
}
