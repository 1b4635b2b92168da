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

// TestLocalDomainExclusions: "!hosted.corp.example" in local_domains makes
// a subdomain hosted elsewhere, and what is under it, not local (issue 14,
// item 8); the longest matching entry decides.
func TestLocalDomainExclusions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	os.WriteFile(path, []byte(`{"local_domains": ["corp.example", "!Hosted.Corp.Example.", "mx.hosted.corp.example"], "trusted_networks": []}`), 0o644)
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"a@corp.example", false},
		{"a@mail.corp.example", false},
		{"a@hosted.corp.example", true},
		{"a@shop.hosted.corp.example", true},
		{"a@mx.hosted.corp.example", false},
		{"a@a.mx.hosted.corp.example", false},
		{"a@nothosted.corp.example", false}, // not under the exclusion
		{"a@hosted.example", true},
	} {
		if got := p.External(tc.addr); got != tc.want {
			t.Errorf("External(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{"!", "!!corp.example", "!a b.example"} {
		var q Policy
		if err := q.AddDomains(bad); err == nil {
			t.Errorf("AddDomains(%q) accepted: %+v", bad, q)
		}
	}
	// Mail from outside for the hosted subdomain is mail relayed.
	rs := correlatePostfix(t, "corp.example,!hosted.corp.example", "127.0.0.0/8", `
Jun 12 09:00:01 mx postfix/smtpd[4001]: 4B49DBC34B: client=unknown[203.0.113.9]
Jun 12 09:00:01 mx postfix/qmgr[99]: 4B49DBC34B: from=<a@spam.example>, size=900, nrcpt=2 (queue active)
Jun 12 09:00:02 mx postfix/smtp[4002]: 4B49DBC34B: to=<v@hosted.corp.example>, relay=mx.elsewhere.example[198.51.100.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Jun 12 09:00:02 mx postfix/local[4003]: 4B49DBC34B: to=<erin@corp.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Jun 12 09:00:02 mx postfix/qmgr[99]: 4B49DBC34B: removed
`)
	checkVerdicts(t, rs, map[string]Verdict{"v@hosted.corp.example": RelayAbuse, "erin@corp.example": Inbound})
}
