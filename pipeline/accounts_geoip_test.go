package pipeline

import (
	"bytes"
	be "encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// mmdb writes a MaxMind DB (format 2.0, IPv4, 24-bit records) mapping
// each network to a record of country iso_code and/or
// autonomous_system_number: the format as the MaxMind DB specification
// describes it, so that tests need no real database.
func mmdb(t *testing.T, nets map[string]analysis.Place) []byte {
	return mmdbNested(t, nets)
}

// mmdbNested is mmdb; a network inside another (inserted after it, by
// prefix length) splits the outer one's record.
func mmdbNested(t *testing.T, nets map[string]analysis.Place) []byte {
	t.Helper()
	var data bytes.Buffer
	type node struct{ rec [2]int } // -1 empty, >=0 node, < -1: data offset -(off+2)
	nodes := []node{{[2]int{-1, -1}}}
	prefixes := make([]string, 0, len(nets))
	for p := range nets {
		prefixes = append(prefixes, p)
	}
	sort.Slice(prefixes, func(i, k int) bool {
		pi, pk := netip.MustParsePrefix(prefixes[i]), netip.MustParsePrefix(prefixes[k])
		if pi.Bits() != pk.Bits() {
			return pi.Bits() < pk.Bits()
		}
		return prefixes[i] < prefixes[k]
	})
	for _, ps := range prefixes {
		p := netip.MustParsePrefix(ps)
		off := data.Len()
		pl := nets[ps]
		n := 0
		if pl.Country != "" {
			n++
		}
		if pl.ASN != 0 {
			n++
		}
		mmdbMap(&data, n)
		if pl.Country != "" {
			mmdbString(&data, "country")
			mmdbMap(&data, 1)
			mmdbString(&data, "iso_code")
			mmdbString(&data, pl.Country)
		}
		if pl.ASN != 0 {
			mmdbString(&data, "autonomous_system_number")
			mmdbUint(&data, 6, uint64(pl.ASN))
		}
		a := p.Addr().As4()
		cur := 0
		for bit := 0; bit < p.Bits(); bit++ {
			b := int(a[bit/8]>>(7-bit%8)) & 1
			if bit == p.Bits()-1 {
				nodes[cur].rec[b] = -(off + 2)
				break
			}
			if r := nodes[cur].rec[b]; r < 0 {
				// Empty, or the record of a shorter network: a new node
				// whose both halves keep it.
				nodes = append(nodes, node{[2]int{r, r}})
				nodes[cur].rec[b] = len(nodes) - 1
			}
			cur = nodes[cur].rec[b]
		}
	}
	var out bytes.Buffer
	count := len(nodes)
	for _, n := range nodes {
		for _, r := range n.rec {
			v := count // empty: not found
			switch {
			case r >= 0:
				v = r
			case r < -1:
				v = count + 16 + (-r - 2)
			}
			out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	out.Write(make([]byte, 16))
	out.Write(data.Bytes())
	out.WriteString("\xAB\xCD\xEFMaxMind.com")
	mmdbMap(&out, 9)
	for _, kv := range []struct {
		k string
		f func()
	}{
		{"node_count", func() { mmdbUint(&out, 6, uint64(count)) }},
		{"record_size", func() { mmdbUint(&out, 5, 24) }},
		{"ip_version", func() { mmdbUint(&out, 5, 4) }},
		{"database_type", func() { mmdbString(&out, "relaysleuth-test") }},
		{"languages", func() { out.Write([]byte{0x01, 0x04}); mmdbString(&out, "en") }},
		{"binary_format_major_version", func() { mmdbUint(&out, 5, 2) }},
		{"binary_format_minor_version", func() { mmdbUint(&out, 5, 0) }},
		{"build_epoch", func() { out.Write([]byte{0x04, 0x02}); be.Write(&out, be.BigEndian, uint32(1772409600)) }},
		{"description", func() { mmdbMap(&out, 1); mmdbString(&out, "en"); mmdbString(&out, "test") }},
	} {
		mmdbString(&out, kv.k)
		kv.f()
	}
	return out.Bytes()
}

func mmdbMap(b *bytes.Buffer, n int)       { b.WriteByte(7<<5 | byte(n)) }
func mmdbString(b *bytes.Buffer, s string) { b.WriteByte(2<<5 | byte(len(s))); b.WriteString(s) }

// mmdbUint writes v as type typ (5: uint16, 6: uint32) in as few bytes as
// it needs.
func mmdbUint(b *bytes.Buffer, typ byte, v uint64) {
	var buf [8]byte
	be.BigEndian.PutUint64(buf[:], v)
	i := 0
	for i < 8 && buf[i] == 0 {
		i++
	}
	b.WriteByte(typ<<5 | byte(8-i))
	b.Write(buf[i:])
}

func TestGeoIP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.mmdb")
	db := mmdb(t, map[string]analysis.Place{
		"176.64.0.0/10":   {Country: "DE", ASN: 3320},
		"193.32.162.0/24": {Country: "RU", ASN: 9009},
		"91.198.44.0/24":  {ASN: 680},
		"45.155.0.0/16":   {Country: "NL"},
	})
	if err := os.WriteFile(path, db, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, tt := range []struct {
		ip   string
		want analysis.Place
		ok   bool
	}{
		{"176.66.201.3", analysis.Place{Country: "DE", ASN: 3320}, true},
		{"176.127.0.1", analysis.Place{Country: "DE", ASN: 3320}, true},
		{"193.32.162.58", analysis.Place{Country: "RU", ASN: 9009}, true},
		{"91.198.44.10", analysis.Place{ASN: 680}, true},
		{"45.155.205.17", analysis.Place{Country: "NL"}, true},
		{"193.32.163.1", analysis.Place{}, false},
		{"10.0.0.1", analysis.Place{}, false},
		{"::ffff:176.66.1.1", analysis.Place{Country: "DE", ASN: 3320}, true},
	} {
		got, ok := g.Locate(netip.MustParseAddr(tt.ip))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Locate(%s) = %+v, %v; want %+v, %v", tt.ip, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := g.Locate(netip.Addr{}); ok {
		t.Error("Locate(invalid) found a place")
	}
	if _, err := OpenGeoIP(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("OpenGeoIP of a missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenGeoIP(bad); err == nil {
		t.Error("OpenGeoIP of a file that is no database: no error")
	}
}

// TestAccountScenarioGeoIP judges the Postfix accounts scenario again with
// a database that places the users' networks in one country and the
// attackers in others: the same verdicts, baselines that count places.
func TestAccountScenarioGeoIP(t *testing.T) {
	store, rows, truth, policy := accountScenarioPolicy(t, "postfix")
	path := filepath.Join(t.TempDir(), "test.mmdb")
	nets := map[string]analysis.Place{"0.0.0.0/1": {Country: "DE", ASN: 3320}, "128.0.0.0/2": {Country: "DE", ASN: 3320},
		"192.0.0.0/3": {Country: "DE", ASN: 3320}, "224.0.0.0/3": {Country: "DE", ASN: 3320}}
	for _, tr := range truth {
		for i, ip := range tr.Attackers {
			nets[ip+"/32"] = analysis.Place{Country: []string{"RU", "CN", "BR", "VN"}[i%4], ASN: uint32(9000 + i)}
		}
	}
	if err := os.WriteFile(path, mmdbNested(t, nets), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	policy.Accounts.Places = g
	res, err := Accounts(t.Context(), store, policy, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Accounts {
		if !strings.Contains(a.Baseline, "1 countries, 1 AS") {
			t.Errorf("%s: baseline %q, want one country and AS", a.Account, a.Baseline)
		}
	}
	checkAccountScenario(t, store, rows, truth)
}
