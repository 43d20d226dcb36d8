package track_test

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/track"
)

func signer(t testing.TB, secret string) *track.Signer {
	t.Helper()
	s, err := track.NewSigner([]byte(secret))
	require.NoError(t, err)
	return s
}

const secret = "0123456789abcdef0123456789abcdef-secret"

func TestToken(t *testing.T) {
	t.Parallel()
	s := signer(t, secret)
	_, err := track.NewSigner([]byte("short"))
	require.Error(t, err)

	t.Run("RoundTrips", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []track.Token{
			{Kind: track.Open, MessageID: 1},
			{Kind: track.Click, MessageID: 42, Link: 3},
			{Kind: track.Click, MessageID: 1 << 40, Link: 10000},
			{Kind: track.Click, MessageID: 42, Link: 3, LinkSet: 1},
			{Kind: track.Click, MessageID: 1 << 40, Link: 10000, LinkSet: 1 << 40},
			{Kind: track.Unsubscribe, MessageID: 987654321},
			{Kind: track.Honeypot, MessageID: 7},
		} {
			enc := s.Sign(tok)
			require.LessOrEqual(t, len(enc), 40, "compact")
			require.NotContains(t, enc, "/")
			require.NotContains(t, enc, "=")
			got, err := s.Verify(enc)
			require.NoError(t, err)
			require.Equal(t, tok, got)
		}
	})

	t.Run("RejectsTamperingTruncationAndOtherKeys", func(t *testing.T) {
		t.Parallel()
		for _, enc := range []string{
			s.Sign(track.Token{Kind: track.Click, MessageID: 42, Link: 3}),
			s.Sign(track.Token{Kind: track.Click, MessageID: 42, Link: 3, LinkSet: 7}),
		} {
			rejectsTampering(t, s, enc)
		}
	})

	t.Run("OnlyClicksNameALinkSet", func(t *testing.T) {
		t.Parallel()
		for _, k := range []track.Kind{track.Open, track.Unsubscribe, track.Honeypot} {
			_, err := s.Verify(s.Sign(track.Token{Kind: k, MessageID: 5, LinkSet: 3}))
			require.ErrorIs(t, err, track.ErrInvalid, "kind %c", k)
		}
	})

	t.Run("KindsCannotBeSwapped", func(t *testing.T) {
		t.Parallel()
		open := s.Sign(track.Token{Kind: track.Open, MessageID: 5})
		got, err := s.Verify(open)
		require.NoError(t, err)
		require.Equal(t, track.Open, got.Kind, "an open token never passes as an unsubscribe")
	})
}

// rejectsTampering checks that every changed byte, every truncation, another key
// and every other spelling of enc is refused.
func rejectsTampering(t *testing.T, s *track.Signer, enc string) {
	t.Helper()
	for i := range enc {
		b := []byte(enc)
		b[i] = "AB"[0] + (b[i]+1)%26
		if string(b) == enc {
			continue
		}
		_, err := s.Verify(string(b))
		require.ErrorIs(t, err, track.ErrInvalid, "byte %d changed", i)
	}
	for n := range len(enc) {
		_, err := s.Verify(enc[:n])
		require.ErrorIs(t, err, track.ErrInvalid, "truncated to %d", n)
	}
	_, err := signer(t, secret+"x").Verify(enc)
	require.ErrorIs(t, err, track.ErrInvalid)
	raw, _ := base64.RawURLEncoding.DecodeString(enc)
	_, err = s.Verify(base64.URLEncoding.EncodeToString(raw))
	require.ErrorIs(t, err, track.ErrInvalid, "padding is not canonical")
	_, err = s.Verify(enc + "A")
	require.ErrorIs(t, err, track.ErrInvalid)
	_, err = s.Verify(strings.Repeat("A", 200))
	require.ErrorIs(t, err, track.ErrInvalid)
}

func FuzzVerify(f *testing.F) {
	s := signer(f, secret)
	f.Add(s.Sign(track.Token{Kind: track.Open, MessageID: 1}))
	f.Add(s.Sign(track.Token{Kind: track.Click, MessageID: 99, Link: 2}))
	f.Add(s.Sign(track.Token{Kind: track.Click, MessageID: 99, Link: 2, LinkSet: 300}))
	f.Add(s.Sign(track.Token{Kind: track.Unsubscribe, MessageID: 1 << 50}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, enc string) {
		tok, err := s.Verify(enc)
		if err != nil {
			require.ErrorIs(t, err, track.ErrInvalid)
			return
		}
		require.Equal(t, enc, s.Sign(tok), "accepted tokens are canonical")
		require.Positive(t, tok.MessageID)
	})
}

func TestJudge(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr("198.51.100.7")
	browser := "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	tests := []struct {
		name string
		hit  track.Hit
		want track.Verdict
	}{
		{"BrowserClickLater", track.Hit{Kind: track.Click, At: sent.Add(2 * time.Hour), Method: "GET", UserAgent: browser, IP: ip}, track.Human},
		{"HeadRequest", track.Hit{Kind: track.Click, At: sent.Add(2 * time.Hour), Method: "HEAD", UserAgent: browser, IP: ip}, track.Machine},
		{"ClickOnDelivery", track.Hit{Kind: track.Click, At: sent.Add(2 * time.Second), Method: "GET", UserAgent: browser, IP: ip}, track.Machine},
		{"Honeypot", track.Hit{Kind: track.Honeypot, At: sent.Add(time.Hour), Method: "GET", UserAgent: browser, IP: ip}, track.Machine},
		{"NoAgent", track.Hit{Kind: track.Open, At: sent.Add(time.Hour), Method: "GET", IP: ip}, track.Machine},
	}
	c := track.NewClassifier()
	for _, tt := range tests {
		got := c.Judge(sent, []track.Hit{tt.hit})
		require.Len(t, got, 1)
		require.Equal(t, tt.want, got[0].Verdict, tt.name)
		if tt.want == track.Machine {
			require.NotEmpty(t, got[0].Reasons, tt.name)
		}
	}
}

func TestJudgeBursts(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	browser := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
	scanner := netip.MustParseAddr("203.0.113.10")
	neighbour := netip.MustParseAddr("203.0.113.77")
	home := netip.MustParseAddr("198.51.100.7")
	c := track.NewClassifier()

	t.Run("AHoneypotHitRejudgesItsBurst", func(t *testing.T) {
		t.Parallel()
		click := track.Hit{Kind: track.Click, At: sent.Add(40 * time.Second), Method: "GET", UserAgent: browser, IP: scanner}
		require.Equal(t, track.Human, c.Judge(sent, []track.Hit{click})[0].Verdict, "alone, it looks like a reader")
		honeypot := track.Hit{Kind: track.Honeypot, At: sent.Add(45 * time.Second), Method: "GET", UserAgent: browser, IP: neighbour}
		got := c.Judge(sent, []track.Hit{click, honeypot})
		require.Equal(t, track.Machine, got[0].Verdict)
		require.Contains(t, got[0].Reasons, "burst_with_honeypot")
	})

	t.Run("AReaderLaterStaysHuman", func(t *testing.T) {
		t.Parallel()
		hits := []track.Hit{
			{Kind: track.Click, At: sent.Add(30 * time.Second), Method: "GET", UserAgent: browser, IP: scanner, Link: 0},
			{Kind: track.Click, At: sent.Add(31 * time.Second), Method: "GET", UserAgent: browser, IP: scanner, Link: 1},
			{Kind: track.Click, At: sent.Add(32 * time.Second), Method: "GET", UserAgent: browser, IP: scanner, Link: 2},
			{Kind: track.Click, At: sent.Add(2 * time.Hour), Method: "GET", UserAgent: browser, IP: home, Link: 1},
		}
		got := c.Judge(sent, hits)
		for i := range 3 {
			require.Equal(t, track.Machine, got[i].Verdict, "hit %d", i)
			require.Contains(t, got[i].Reasons, "burst_many_links")
		}
		require.Equal(t, track.Human, got[3].Verdict)
	})

	t.Run("PrivacyProxiesAreNotReaders", func(t *testing.T) {
		t.Parallel()
		got := c.Judge(sent, []track.Hit{
			{Kind: track.Open, At: sent.Add(time.Minute), Method: "GET", UserAgent: "Mozilla/5.0", IP: netip.MustParseAddr("17.58.1.2")},
			{Kind: track.Open, At: sent.Add(time.Hour), Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", IP: home},
			{Kind: track.Click, At: sent.Add(time.Hour), Method: "GET", UserAgent: "python-requests/2.31", IP: home},
		})
		require.Equal(t, track.Machine, got[0].Verdict)
		require.Equal(t, []string{"apple_mpp_network"}, got[0].Reasons)
		require.Equal(t, track.Unknown, got[1].Verdict)
		require.Equal(t, track.Machine, got[2].Verdict)
	})
}
