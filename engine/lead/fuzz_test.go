package lead_test

import (
	"net/mail"
	"strings"
	"testing"
	"unicode"

	"github.com/nurture-dev/nurture/engine/lead"
)

// FuzzCheckEmail holds CheckEmail to what an accepted address promises the sender: one
// bare address, delivered through its domain's MX and nowhere else.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{
		"taro@example.com", "Taro.Yamada+news@Example.COM", "山田@例え.jp", "a@b.co",
		"user@[127.0.0.1]", "user@[IPv6:::1]", "user@127.0.0.1", "a%b@example.com",
		"host!user@example.com", `"a@b"@example.com`, "Taro <taro@example.com>",
		"a@b@example.com", "a@-example.com", "a@example.123", "a@xn--r8jz45g.jp",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if lead.CheckEmail(s) != nil {
			return
		}
		addr, err := mail.ParseAddress(s)
		if err != nil || addr.Name != "" || addr.Address != s {
			t.Fatalf("%q accepted but is not a bare address", s)
		}
		local, domain, ok := strings.Cut(s, "@")
		if !ok || strings.Contains(domain, "@") {
			t.Fatalf("%q accepted without exactly one @", s)
		}
		if strings.ContainsAny(local, `%!"`) || strings.ContainsAny(domain, `[]:%!"`) {
			t.Fatalf("%q accepted with a routing form or an address literal", s)
		}
		labels := strings.Split(domain, ".")
		tld := labels[len(labels)-1]
		if len(labels) < 2 || strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
			t.Fatalf("%q accepted with a domain that is no host name", s)
		}
		if len(s) > 254 || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("%q accepted with space, control characters or too long", s)
		}
	})
}
