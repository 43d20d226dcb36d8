package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, clientKey(tt.ip), tt.ip)
	}
}

func TestFailureLimiterStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	l := newFailureLimiter(time.Second, 2, 100)
	for i := range 1000 {
		l.fail(fmt.Sprintf("198.51.100.%d/%d", i%256, i), now)
		require.LessOrEqual(t, len(l.clients), 100)
	}
	l.fail("held", now)
	l.fail("held", now)
	require.Equal(t, time.Second, l.wait("held", now))
	require.Zero(t, l.wait("held", now.Add(time.Second)))

	// Clients whose bucket refilled are forgotten first: they lose nothing.
	later := now.Add(time.Hour)
	l.fail("held", later)
	l.fail("held", later)
	for i := range 99 {
		l.fail(fmt.Sprintf("new-%d", i), later)
	}
	require.Equal(t, time.Second, l.wait("held", later), "a client being held back was kept")
}
