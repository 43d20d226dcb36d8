package sales

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// ErrTokenInvalid is every malformed, tampered or foreign accept token.
var ErrTokenInvalid = errors.New("invalid accept token")

// ErrTokenExpired is an accept token past its TokenTTL.
var ErrTokenExpired = errors.New("the accept link has expired")

// Token is what an accept link names: a hand-off, until a time. It is single-use
// because the hand-off it names is decided once: a second use finds it decided.
type Token struct {
	AssignmentID int64
	Expires      time.Time
}

// AcceptURL is the page where the rep of hand-off id accepts or rejects it, for
// TokenTTL from now.
func (s *Sales) AcceptURL(id int64, now time.Time) string {
	return s.cfg.BaseURL + "/s/" + s.SignToken(Token{AssignmentID: id, Expires: now.Add(TokenTTL)})
}

// SignToken encodes a token: a version byte, the hand-off's ID and the expiry (Unix
// seconds) as varints, then the first 16 bytes of an HMAC-SHA256 over them, in
// unpadded base64url.
func (s *Sales) SignToken(t Token) string {
	b := []byte{1}
	b = binary.AppendUvarint(b, uint64(t.AssignmentID))
	b = binary.AppendUvarint(b, uint64(t.Expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.tokenMAC(b)...))
}

func (s *Sales) tokenMAC(b []byte) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b)
	return m.Sum(nil)[:16]
}

// VerifyToken decodes a token and checks its MAC and expiry at now.
func (s *Sales) VerifyToken(tok string, now time.Time) (Token, error) {
	if len(tok) > 64 {
		return Token{}, ErrTokenInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 19 || b[0] != 1 {
		return Token{}, ErrTokenInvalid
	}
	body, mac := b[:len(b)-16], b[len(b)-16:]
	if !hmac.Equal(mac, s.tokenMAC(body)) {
		return Token{}, ErrTokenInvalid
	}
	id, n := binary.Uvarint(body[1:])
	if n <= 0 || id == 0 || id > 1<<62 {
		return Token{}, ErrTokenInvalid
	}
	exp, m := binary.Uvarint(body[1+n:])
	if m <= 0 || 1+n+m != len(body) || exp > 1<<40 {
		return Token{}, ErrTokenInvalid
	}
	t := Token{AssignmentID: int64(id), Expires: time.Unix(int64(exp), 0)}
	if s.SignToken(t) != tok {
		return Token{}, ErrTokenInvalid
	}
	if now.After(t.Expires) {
		return t, ErrTokenExpired
	}
	return t, nil
}

// String is the token's hand-off, for logs (never the token itself).
func (t Token) String() string { return "assignment " + strconv.FormatInt(t.AssignmentID, 10) }
