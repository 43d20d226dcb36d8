package sales_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

// decodedBody is the text of every part of a message, decoded.
func decodedBody(t *testing.T, m mailtest.Message) string {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	var out strings.Builder
	out.WriteString(subject + "\n")
	var walk func(h map[string][]string, r io.Reader)
	walk = func(h map[string][]string, r io.Reader) {
		header := netmail.Header(h)
		mt, params, _ := mime.ParseMediaType(header.Get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		b, _ := io.ReadAll(r)
		if strings.EqualFold(header.Get("Content-Transfer-Encoding"), "base64") {
			b = decodeBase64(b)
		}
		out.Write(b)
	}
	walk(msg.Header, msg.Body)
	return out.String()
}

func decodeBase64(b []byte) []byte {
	clean := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' {
			return -1
		}
		return r
	}, string(b))
	out, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return b
	}
	return out
}
