package analysis

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func testPolicy(t *testing.T) Policy {
	t.Helper()
	var p Policy
	if err := p.AddDomains("corp.example", "Corp-Mail.Example."); err != nil {
		t.Fatal(err)
	}
	if err := p.AddNetworks("192.0.2.0/24", "127.0.0.1", "2001:db8::/32", "[::ffff:198.51.100.0]/120"); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExternal(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"alice@corp.example", false},
		{"alice@CORP.EXAMPLE", false},
		{"bob@mail.corp.example", false}, // subdomain of a local domain
		{"bob@corp-mail.example", false},
		{"root", false}, // no domain: Postfix appends $myorigin
		{"x@victim.example", true},
		{"x@notcorp.example", true}, // a suffix that is not a subdomain
		{"x@corp.example.evil", true},
		{"info%victim.example@corp.example", true}, // percent hack
		{"victim.example!test@corp.example", true}, // bang path
		{`"admin@victim.example"@corp.example`, true},
		{"info@victim.example@corp.example", true},
		{"@corp.example:info@victim.example", true}, // source route
	} {
		if got := p.External(tc.addr); got != tc.want {
			t.Errorf("External(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestTrusted(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"192.0.2.77", true},
		{"192.0.3.1", false},
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"2001:db8::25", true},
		{"::ffff:192.0.2.9", true},
		{"198.51.100.7", true},
		{"203.0.113.9", false},
	} {
		if got := p.Trusted(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Trusted(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if p.Trusted(netip.Addr{}) {
		t.Error("an unknown address must not be trusted")
	}
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"local_domains": ["corp.example"], "trusted_networks": ["10.0.0.0/8"]}`), 0o644)
	p, err := LoadPolicy(good)
	if err != nil {
		t.Fatal(err)
	}
	if !p.LocalDomain("a.corp.example") || !p.Trusted(netip.MustParseAddr("10.1.2.3")) {
		t.Errorf("policy not loaded: %+v", p)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"local_domains": ["corp.example"], "trusted_networks": ["10.0.0.0/99"]}`), 0o644)
	if _, err := LoadPolicy(bad); err == nil {
		t.Error("bad network accepted")
	}
}
