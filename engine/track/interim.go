// Package track signs the links of sent mail and judges who followed them.
//
// INTERIM: a minimal version written while the full package is being built.
package track

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"time"
)

type Kind byte

const (
	Open        Kind = 'o'
	Click       Kind = 'c'
	Unsubscribe Kind = 'u'
	Honeypot    Kind = 'h'
)

type Token struct {
	Kind      Kind
	MessageID int64
	Link      int
}

var ErrInvalid = errors.New("invalid token")

type Signer struct{ key []byte }

func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < 32 {
		return nil, errors.New("secret too short")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("nurture track token v1"))
	return &Signer{key: m.Sum(nil)}, nil
}

func (s *Signer) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)[:12]
}

func (s *Signer) Sign(t Token) string {
	b := []byte{1, byte(t.Kind)}
	b = binary.AppendUvarint(b, uint64(t.MessageID))
	b = binary.AppendUvarint(b, uint64(t.Link))
	return base64.RawURLEncoding.EncodeToString(append(b, s.mac(b)...))
}

func (s *Signer) Verify(tok string) (Token, error) {
	if len(tok) > 64 {
		return Token{}, ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 16 || b[0] != 1 {
		return Token{}, ErrInvalid
	}
	body, mac := b[:len(b)-12], b[len(b)-12:]
	if !hmac.Equal(mac, s.mac(body)) {
		return Token{}, ErrInvalid
	}
	t := Token{Kind: Kind(body[1])}
	id, n := binary.Uvarint(body[2:])
	if n <= 0 {
		return Token{}, ErrInvalid
	}
	link, m := binary.Uvarint(body[2+n:])
	if m <= 0 || 2+n+m != len(body) || id == 0 || id > 1<<62 || link > 10000 {
		return Token{}, ErrInvalid
	}
	t.MessageID, t.Link = int64(id), int(link)
	switch t.Kind {
	case Click:
	case Open, Unsubscribe, Honeypot:
		if t.Link != 0 {
			return Token{}, ErrInvalid
		}
	default:
		return Token{}, ErrInvalid
	}
	if s.Sign(t) != tok {
		return Token{}, ErrInvalid
	}
	return t, nil
}

type Verdict string

const (
	Human   Verdict = "human"
	Machine Verdict = "machine"
	Unknown Verdict = "unknown"
)

type Hit struct {
	Kind      Kind
	At        time.Time
	Method    string
	UserAgent string
	IP        netip.Addr
	Link      int
}

type Judgement struct {
	Verdict Verdict
	Reasons []string
}

type Classifier struct{}

func NewClassifier() *Classifier { return &Classifier{} }

func (c *Classifier) Judge(sentAt time.Time, hits []Hit) []Judgement {
	out := make([]Judgement, len(hits))
	for i, h := range hits {
		switch {
		case h.Kind == Honeypot:
			out[i] = Judgement{Machine, []string{"honeypot"}}
		case h.Method == "HEAD":
			out[i] = Judgement{Machine, []string{"head_request"}}
		case h.UserAgent == "":
			out[i] = Judgement{Machine, []string{"no_user_agent"}}
		case h.Kind == Click && h.At.Sub(sentAt) < 10*time.Second:
			out[i] = Judgement{Machine, []string{"too_soon_after_delivery"}}
		case strings.Contains(h.UserAgent, "Mozilla/"):
			out[i] = Judgement{Verdict: Human}
		default:
			out[i] = Judgement{Verdict: Unknown}
		}
	}
	return out
}
