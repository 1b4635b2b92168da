package probe

import (
	"net/netip"
	"testing"
)

func TestInTrusted(t *testing.T) {
	nets := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"),
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.1.2.3", false},
		{"::ffff:10.1.2.3", true},
		{"2001:db8::25", true},
		{"2001:db9::25", false},
		{"192.0.2.7", true},
		{"192.0.3.7", false},
		{"fe80::1%eth0", false},
	}
	for _, tt := range tests {
		if got := InTrusted(netip.MustParseAddr(tt.addr), nets); got != tt.want {
			t.Errorf("InTrusted(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if InTrusted(netip.MustParseAddr("10.1.2.3"), nil) {
		t.Error("InTrusted with no networks = true")
	}
}
