package mail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/track"
)

// trackURL signs t into the URL of its public endpoint.
func (m *Mailer) trackURL(t track.Token) string {
	return m.endpointURL(t.Kind, m.cfg.Signer.Sign(t))
}

// endpointURL is the URL of the public endpoint (README, "Tracking and unsubscribe") for a signed token
// of kind.
func (m *Mailer) endpointURL(kind track.Kind, tok string) string {
	switch kind {
	case track.Open:
		return m.cfg.BaseURL + "/t/o/" + tok
	case track.Unsubscribe:
		return m.cfg.BaseURL + "/u/" + tok
	default: // clicks and the honeypot link both redirect
		return m.cfg.BaseURL + "/t/c/" + tok
	}
}

// UnsubscribeURL is the page where the recipient of a message unsubscribes.
func (m *Mailer) UnsubscribeURL(messageID int64) string {
	return m.trackURL(track.Token{Kind: track.Unsubscribe, MessageID: messageID})
}

// errStoreLinks is a failure to store a message's links: the render is tried again
// later, unlike a template's error.
type errStoreLinks struct{ err error }

func (e errStoreLinks) Error() string { return e.err.Error() }
func (e errStoreLinks) Unwrap() error { return e.err }

// render renders the message for its lead with every link tracked, its links stored
// in a set (p.LinkSet) before it can go out.
func (m *Mailer) render(ctx context.Context, sets *linkSets, p *pending) (*message.Rendered, error) {
	set := m.cfg.Templates()
	if set == nil {
		return nil, fmt.Errorf("no templates loaded")
	}
	if p.Internal {
		// Internal mail is rendered as authored: no pixel, no tracked links, no
		// unsubscribe page (the recipient is not the lead).
		return set.Render(p.Template, message.Data{Lead: p.Lead, Alert: p.Alert, Digest: p.Digest})
	}
	return set.Render(p.Template, message.Data{
		Lead:           p.Lead,
		UnsubscribeURL: m.UnsubscribeURL(p.ID),
		Tracking: &message.Tracking{
			Links: func(links []message.Link) ([]string, error) {
				id, err := sets.id(ctx, links)
				if err != nil {
					return nil, errStoreLinks{err}
				}
				p.LinkSet = id
				urls := make([]string, len(links))
				for i, l := range links {
					urls[i] = m.trackURL(track.Token{Kind: track.Click, MessageID: p.ID, Link: l.Index, LinkSet: id})
				}
				return urls, nil
			},
			PixelURL:    m.trackURL(track.Token{Kind: track.Open, MessageID: p.ID}),
			HoneypotURL: m.trackURL(track.Token{Kind: track.Honeypot, MessageID: p.ID}),
		},
	})
}

// build makes the MIME message: multipart/alternative (text and HTML), our
// Message-ID, encoded Japanese headers, and one-click List-Unsubscribe (RFC 8058).
func (m *Mailer) build(p pending) (*gomail.Msg, error) {
	r := p.Rendered
	msg := gomail.NewMsg(gomail.WithEncoding(gomail.EncodingB64), gomail.WithNoDefaultUserAgent())
	from := m.cfg.From
	if r.From != "" {
		from = r.From
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	if err := msg.FromFormat(addr.Name, addr.Address); err != nil {
		return nil, err
	}
	if err := msg.To(p.recipient()); err != nil {
		return nil, err
	}
	if r.ReplyTo != "" {
		if err := msg.ReplyTo(r.ReplyTo); err != nil {
			return nil, err
		}
	}
	setSubject(msg, r.Subject)
	msg.SetMessageIDWithValue(p.MessageID)
	msg.SetDate()
	if p.Internal {
		msg.SetBodyString(gomail.TypeTextPlain, r.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
		return msg, nil
	}
	// The mailto: form carries the token in its subject, so whoever reads that
	// mailbox knows which message to unsubscribe from.
	tok := m.cfg.Signer.Sign(track.Token{Kind: track.Unsubscribe, MessageID: p.ID})
	msg.SetGenHeader(gomail.HeaderListUnsubscribe,
		fmt.Sprintf("<%s>, <mailto:%s?subject=unsubscribe%%20%s>", m.endpointURL(track.Unsubscribe, tok), unsubscribeMailbox(addr.Address), tok))
	msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return msg, nil
}

// setSubject sets the Subject header so that no line of it is longer than 76
// characters. go-mail encodes a subject with any character outside ASCII as RFC 2047
// encoded words of at most 75 characters and folds between them, and folds plain
// ASCII at its spaces; a long run of ASCII without a space would stay on one line,
// which a server refuses past 998 characters, so that subject is encoded here.
func setSubject(msg *gomail.Msg, s string) {
	if !plainASCII(s) || !slices.ContainsFunc(strings.Split(s, " "), func(w string) bool { return len(w) > 60 }) {
		msg.Subject(s)
		return
	}
	const chunk = 39 // bytes: 52 in base64, 64 characters with "=?UTF-8?B?" and "?="
	var words []string
	for len(s) > chunk {
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:chunk]))+"?=")
		s = s[chunk:]
	}
	words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s))+"?=")
	msg.SetGenHeaderPreformatted(gomail.HeaderSubject, strings.Join(words, "\r\n "))
}

// plainASCII reports whether s is printable ASCII and tabs, which go-mail sends as
// it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < ' ' || s[i] > '~') && s[i] != '\t' {
			return false
		}
	}
	return true
}

// unsubscribeMailbox is the mailto: address of List-Unsubscribe, on the sender's domain.
func unsubscribeMailbox(from string) string { return "unsubscribe@" + Domain(from) }

// storedLink is a link of a sent message as kept in link_sets.links (and, for mail
// sent before link sets, messages.links): a click redirects to its URL.
type storedLink struct {
	Index int    `json:"index"`
	URL   string `json:"url"`
	Name  string `json:"name,omitempty"`
}

func linksJSON(links []message.Link) []byte {
	out := make([]storedLink, len(links))
	for i, l := range links {
		out[i] = storedLink{l.Index, l.URL, l.Name}
	}
	b, _ := json.Marshal(out)
	return b
}
