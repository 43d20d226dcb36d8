package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIPExtractor(t *testing.T) {
	t.Parallel()
	proxies, err := ParseCIDRs("10.0.0.0/8, 192.0.2.7")
	require.NoError(t, err)
	_, err = ParseCIDRs("10.0.0.0/33")
	require.Error(t, err)
	_, err = ParseCIDRs("proxy.example.com")
	require.Error(t, err)

	tests := []struct {
		name    string
		trusted bool
		peer    string
		xff     string
		want    string
	}{
		{"DirectIgnoresForwardedFor", false, "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"DirectIgnoresForwardedForFromPrivatePeer", false, "10.1.2.3:4000", "198.51.100.1", "10.1.2.3"},
		{"TrustedProxyIsBelieved", true, "10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"SingleTrustedAddress", true, "192.0.2.7:4000", "198.51.100.1", "198.51.100.1"},
		{"UntrustedPeerIsNotBelieved", true, "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"SpoofedChainStopsAtFirstUntrusted", true, "10.1.2.3:4000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"LoopbackIsNotTrustedUnlessListed", true, "127.0.0.1:4000", "198.51.100.1", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var nets = proxies
			if !tt.trusted {
				nets = nil
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", tt.xff)
			require.Equal(t, tt.want, ipExtractor(nets)(req))
		})
	}
}
