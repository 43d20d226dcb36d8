// Package track signs the links of sent mail and judges who followed them: every open
// pixel, click redirect and unsubscribe link carries a compact HMAC-signed token naming
// the message (and link), and every hit gets a verdict, human, machine or unknown,
// because privacy proxies open and link scanners click mail nobody read.
package track

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Kind is what a token is for; a token of one kind never passes for another.
type Kind byte

// Kinds of token.

const (
	Open        Kind = 'o'
	Click       Kind = 'c'
	Unsubscribe Kind = 'u'
	Honeypot    Kind = 'h'
)

// Token names a message, and for clicks the index of a link in it and the stored
// set of links it is one of: the set is written before the message goes out, so a
// click redirects from the moment the message exists anywhere. Tokens of mail sent
// before link sets existed have none; their links are kept with the message.
type Token struct {
	Kind      Kind
	MessageID int64
	Link      int
	LinkSet   int64
}

// ErrInvalid is every malformed, tampered or foreign token.
var ErrInvalid = errors.New("invalid token")

// Signer signs and verifies tokens with a key derived from the server's secret, so
// that the secret itself never keys a MAC that others can observe.
type Signer struct{ key []byte }

// NewSigner makes a signer; the secret must be at least 32 bytes.
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

// Sign encodes a token: version, kind, message ID, link and (version 2) link set as
// varints, then the first 12 bytes of an HMAC-SHA256 over them, in unpadded
// base64url (about 24 characters, 27 for a click with its link set).
func (s *Signer) Sign(t Token) string {
	b := []byte{1, byte(t.Kind)}
	if t.LinkSet != 0 {
		b[0] = 2
	}
	b = binary.AppendUvarint(b, uint64(t.MessageID))
	b = binary.AppendUvarint(b, uint64(t.Link))
	if t.LinkSet != 0 {
		b = binary.AppendUvarint(b, uint64(t.LinkSet))
	}
	return base64.RawURLEncoding.EncodeToString(append(b, s.mac(b)...))
}

// Verify decodes a token and checks its MAC; anything wrong is ErrInvalid. Only the
// canonical encoding is accepted, so one token has one spelling.
func (s *Signer) Verify(tok string) (Token, error) {
	if len(tok) > 64 {
		return Token{}, ErrInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 16 || (b[0] != 1 && b[0] != 2) {
		return Token{}, ErrInvalid
	}
	body, mac := b[:len(b)-12], b[len(b)-12:]
	if !hmac.Equal(mac, s.mac(body)) {
		return Token{}, ErrInvalid
	}
	t := Token{Kind: Kind(body[1])}
	rest := body[2:]
	var fields [3]uint64
	n := 2
	if body[0] == 2 {
		n = 3
	}
	for i := range n {
		v, m := binary.Uvarint(rest)
		if m <= 0 {
			return Token{}, ErrInvalid
		}
		fields[i], rest = v, rest[m:]
	}
	id, link, set := fields[0], fields[1], fields[2]
	if len(rest) != 0 || id == 0 || id > 1<<62 || link > 10000 || set > 1<<62 || (body[0] == 2 && (set == 0 || t.Kind != Click)) {
		return Token{}, ErrInvalid
	}
	t.MessageID, t.Link, t.LinkSet = int64(id), int(link), int64(set)
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
