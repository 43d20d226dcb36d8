package message

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A Markdown body is a Go template executed before the Markdown is rendered, so a
// lead value printed into it would be read as Markdown (and as raw HTML, which the
// marketer's own Markdown may contain). To keep lead values out of the Markdown,
// every value is printed as a placeholder made only of private-use characters, which
// Markdown treats as plain letters: U+E000, then U+E100+b for each byte b of the
// value, then U+E001. After the Markdown is rendered, each placeholder is replaced by
// its value, HTML-escaped. Placeholders carry their value, so no state is kept
// between printing and replacing, and a template may be executed concurrently.
//
// A SignedURL (a URL the engine made) is printed the same way but opened with
// U+E003, and filled in as it is, also where Markdown made it a link's address.
const (
	placeholderOpen  = '\uE000'
	placeholderClose = '\uE001'
	placeholderByte  = 0xE100
	signedOpen       = '\uE003' // U+E002 is the render cache's body marker
)

func placeholder(s string) string { return placeholderOf(placeholderOpen, s) }

// signedPlaceholder is the placeholder of a trusted SignedURL.
func signedPlaceholder(s string) string { return placeholderOf(signedOpen, s) }

func placeholderOf(open rune, s string) string {
	var b strings.Builder
	b.Grow(3 * (len(s) + 2))
	b.WriteRune(open)
	for i := 0; i < len(s); i++ {
		b.WriteRune(placeholderByte + rune(s[i]))
	}
	b.WriteRune(placeholderClose)
	return b.String()
}

var (
	// rawPlaceholder is a placeholder as Markdown passes text through.
	rawPlaceholder = regexp.MustCompile("\uE000[\uE100-\uE1FF]*\uE001")
	// escapedPlaceholder is a placeholder in a link destination, which Markdown
	// percent-encodes: U+E000 is %EE%80%80, U+E100–U+E1FF are %EE%84%80–%EE%87%BF.
	escapedPlaceholder = regexp.MustCompile(`%EE%80%80((?:%EE%8[4-7]%[89AB][0-9A-F])*)%EE%80%81`)
	// rawSigned and escapedSigned are the same for a SignedURL's placeholder
	// (U+E003 is %EE%80%83).
	rawSigned     = regexp.MustCompile("\uE003[\uE100-\uE1FF]*\uE001")
	escapedSigned = regexp.MustCompile(`%EE%80%83((?:%EE%8[4-7]%[89AB][0-9A-F])*)%EE%80%81`)
)

// fillPlaceholders replaces the placeholders in HTML rendered from Markdown with
// their values, escaped for HTML, and percent-encoded as one component of a URL
// where Markdown made the placeholder part of a link's address. A SignedURL's is
// filled in whole, escaped for HTML only.
func fillPlaceholders(s string) string {
	if strings.ContainsRune(s, signedOpen) || strings.Contains(s, "%EE%80%83") {
		s = escapedSigned.ReplaceAllStringFunc(s, func(m string) string {
			inner, err := url.PathUnescape(m[len("%EE%80%83") : len(m)-len("%EE%80%81")])
			if err != nil {
				return ""
			}
			return html.EscapeString(decodePlaceholder(inner))
		})
		s = rawSigned.ReplaceAllStringFunc(s, func(m string) string {
			_, open := utf8.DecodeRuneInString(m)
			_, close := utf8.DecodeLastRuneInString(m)
			return valueEscaper.Replace(decodePlaceholder(m[open : len(m)-close]))
		})
	}
	if !strings.ContainsRune(s, placeholderOpen) && !strings.Contains(s, "%EE%80%80") {
		return s
	}
	s = escapedPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		inner, err := url.PathUnescape(m[len("%EE%80%80") : len(m)-len("%EE%80%81")])
		if err != nil {
			return ""
		}
		return html.EscapeString(escapeURLComponent(decodePlaceholder(inner)))
	})
	return rawPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		_, open := utf8.DecodeRuneInString(m)
		_, close := utf8.DecodeLastRuneInString(m)
		return valueEscaper.Replace(decodePlaceholder(m[open : len(m)-close]))
	})
}

// valueEscaper escapes a value for anywhere the marketer's raw HTML may have put it:
// text, a quoted attribute, and an unquoted one (title={{.Lead.Company}}), where a
// space, = or ` would otherwise end the value and start an attribute of the lead's
// own (href=https://evil.example). The parser reads the entities back, so the text is
// the value.
var valueEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;",
	" ", "&#32;", "\t", "&#9;", "\n", "&#10;", "\r", "&#13;", "\f", "&#12;", "=", "&#61;", "`", "&#96;")

// escapeURLComponent percent-encodes every byte of s but the unreserved characters
// of RFC 3986, so that a lead value stays one part of a URL, in a path or a query:
// "A&B/C" cannot add a parameter or a path segment.
func escapeURLComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func decodePlaceholder(runes string) string {
	b := make([]byte, 0, len(runes)/3)
	for _, r := range runes {
		b = append(b, byte(r-placeholderByte))
	}
	return string(b)
}
