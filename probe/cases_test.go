package probe

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestCasesGolden pins the addresses every case sends: they are what
// --verify-log looks for in the server's log, so a change is reviewed
// like code.
func TestCasesGolden(t *testing.T) {
	var b strings.Builder
	for _, tgt := range []Target{
		{Name: "mx.example.org", IP: netip.MustParseAddr("192.0.2.25")},
		{Name: "", IP: netip.MustParseAddr("2001:db8::25")},
	} {
		cfg := Config{LocalDomain: "example.org", SendTo: "postmaster@example.net"}
		fmt.Fprintf(&b, "# target %q %s, local domain %s, default external domain\n", tgt.Name, tgt.IP, cfg.LocalDomain)
		for _, c := range Cases(cfg, tgt) {
			fmt.Fprintf(&b, "%-18s MAIL FROM:<%s> RCPT TO:<%s>\n", c.Name, c.Sender, c.Recipient)
		}
	}
	const golden = "../testdata/probe/cases.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("Cases differ from %s (run with -update and review the diff):\n%s", golden, b.String())
	}
}

func TestCases(t *testing.T) {
	tgt := Target{Name: "mx.example.org", IP: netip.MustParseAddr("192.0.2.25")}
	all := Cases(Config{}, tgt)
	names := CaseNames()
	if len(all) != len(names) || len(names) != 18 {
		t.Fatalf("%d cases, %d names, want 18", len(all), len(names))
	}
	seen := map[string]bool{}
	for i, c := range all {
		if c.Name != names[i] || seen[c.Name] || c.About == "" {
			t.Errorf("case %d: %+v", i, c)
		}
		seen[c.Name] = true
		// Every case must aim outside: the outside domain appears in
		// every recipient, and no recipient is plainly local.
		if !strings.Contains(c.Recipient, DefaultExternalDomain) {
			t.Errorf("case %s: recipient %q does not name the outside domain", c.Name, c.Recipient)
		}
		if c.Recipient == "relaytest@mx.example.org" || strings.ContainsAny(c.Sender+c.Recipient, " <>\r\n") {
			t.Errorf("case %s: %q -> %q", c.Name, c.Sender, c.Recipient)
		}
	}
	sub := Cases(Config{Cases: []string{"bang", "null-sender"}}, tgt)
	if got := []string{sub[0].Name, sub[1].Name}; len(sub) != 2 || !slices.Equal(got, []string{"null-sender", "bang"}) {
		t.Errorf("subset = %+v, want null-sender and bang in table order", sub)
	}
	if c := Cases(Config{SendTo: "me@example.net", Cases: []string{"bang"}}, tgt); len(c) != 2 || c[1].Name != sendToCase || c[1].Recipient != "me@example.net" {
		t.Errorf("with SendTo: %+v", c)
	}
}
