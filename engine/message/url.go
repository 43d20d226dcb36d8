package message

import (
	htmltemplate "html/template"
	"io"
	"regexp"
	"strings"
	"text/template/parse"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Values in URLs. html/template query-escapes a value printed in the query or
// fragment of a URL, but in its path only normalises it, leaving / ? # and .. as they
// are: a lead could move a link to another page ("../../admin?x=1#frag"). So a value
// printed in a path is percent-encoded as one segment (pathFunc), as Markdown bodies
// do (escapeURLComponent). And where a value would choose a link's scheme or host,
// and with it where the click redirect sends the reader, the template is refused
// (checkLinkValues).

// pathFunc is the function that takes html/template's place for a value printed in
// the path of a URL.
const pathFunc = "_urlpath"

func escapeURLPath(v any) string { return escapeURLComponent(printable(v)) }

// escapeHTMLCopy has html/template escape t (a copy being made ready for its runs),
// which it does when t first runs, and then has every value printed in the path of
// a URL percent-encoded as one segment. Its run stops at its first charge, since its
// cost is not started.
func escapeHTMLCopy(t *htmltemplate.Template) {
	if err := t.Execute(io.Discard, nil); err != nil && strings.HasPrefix(err.Error(), "html/template:") {
		return // escaping failed: every run reports it
	}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			escapePaths(x.Tree.Root)
		}
	}
}

// escapePaths replaces html/template's URL normaliser with pathFunc wherever it is
// not preceded by its URL filter, which it is at the start of a URL: everywhere else
// it is a value after the scheme and before the query (a host, which
// checkLinkValues refuses in links, or a path).
func escapePaths(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			for i, c := range n.Pipe.Cmds {
				id, ok := c.Args[0].(*parse.IdentifierNode)
				if !ok || id.Ident != "_html_template_urlnormalizer" {
					continue
				}
				if i > 0 {
					if prev, ok := n.Pipe.Cmds[i-1].Args[0].(*parse.IdentifierNode); ok && prev.Ident == "_html_template_urlfilter" {
						continue
					}
				}
				c.Args[0] = parse.NewIdentifier(pathFunc).SetTree(nil).SetPos(id.Pos)
			}
		case *parse.IfNode:
			escapePaths(n.List)
			escapePaths(n.ElseList)
		case *parse.RangeNode:
			escapePaths(n.List)
			escapePaths(n.ElseList)
		case *parse.WithNode:
			escapePaths(n.List)
			escapePaths(n.ElseList)
		case *parse.ListNode:
			escapePaths(n)
		}
	}
}

// foldedPlaceholder is escapedPlaceholder in either case: html/template
// percent-encodes in lower case.
var foldedPlaceholder = regexp.MustCompile("(?i)" + escapedPlaceholder.String())

// schemeRE matches the scheme of a URL and the colon after it.
var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*:`)

// valueInHost reports whether the first slot in u, a link's address executed with
// slots, is where it could set the scheme or host: before the address has a
// scheme, or in the host after it. A relative address is not followed by the click
// redirect, and mailto: and tel: are not tracked.
func valueInHost(u string) bool {
	u = markerRE.ReplaceAllString(strings.TrimSpace(u), "https://nurture.invalid/m")
	at := len(u)
	if m := rawPlaceholder.FindStringIndex(u); m != nil {
		at = m[0]
	}
	if m := foldedPlaceholder.FindStringIndex(u); m != nil && m[0] < at {
		at = m[0]
	}
	if at == len(u) {
		return false
	}
	prefix := u[:at]
	rest := prefix
	if s := schemeRE.FindString(prefix); s != "" {
		scheme := strings.ToLower(strings.TrimSuffix(s, ":"))
		if scheme != "http" && scheme != "https" {
			return false
		}
		rest = prefix[len(s):]
	} else if !strings.HasPrefix(prefix, "//") && !strings.HasPrefix(prefix, `\`) && !strings.HasPrefix(prefix, `/\`) {
		// No scheme yet: a relative address, unless the value may start one.
		return prefix == "" || !strings.ContainsAny(prefix, "/?#")
	}
	rest = strings.TrimLeft(rest, `/\`)
	return !strings.ContainsAny(rest, `/\?#`)
}

// checkLinkValues refuses a document, executed with slots for its values, that has a
// link (not marked data-notrack) whose scheme or host a value sets: the click
// redirect would send readers wherever a lead's data says.
func checkLinkValues(file string, doc string) error {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return nil // the full render reports it
	}
	var bad string
	walk(root, func(n *html.Node) bool {
		if bad == "" && (n.DataAtom == atom.A || n.DataAtom == atom.Area) && hasAttr(n, "href") &&
			!hasAttr(n, "data-notrack") && valueInHost(getAttr(n, "href")) {
			bad = getAttr(n, "href")
		}
		return bad == ""
	})
	if bad == "" {
		return nil
	}
	shown := foldedPlaceholder.ReplaceAllString(rawPlaceholder.ReplaceAllString(bad, "{{…}}"), "{{…}}")
	return errorf(file, 0, 0, "the link %q takes its scheme or host from a value: "+
		"a lead could choose where a click goes; write the scheme and host in the template "+
		"(https://example.com/{{…}}) or mark the link data-notrack", shown)
}
