package loggen

import (
	"fmt"
	"strings"
)

// The site the logs are from.
var (
	localDomains = []string{"corp.example", "corp-mail.example", "mail.corp.example", "localhost"}
	mailDomains  = localDomains[:3] // the ones that get mail
	mailboxes    = []string{"alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry", "ivan", "judy"}
	// aliases expand to a mailbox (Postfix orig_to=, Exim "=> carol <jobs@...>").
	aliases = map[string]string{"sales": "alice", "support": "bob", "jobs": "carol", "info": "dave", "hr": "gina"}
	// forwards go on to an outside address: a .forward (Postfix local(8)
	// re-queues the message) or a virtual alias (delivered straight out).
	forwards = []forward{
		{"fwd-partner", "j.doe@outside.example", true},
		{"fwd-legal", "counsel@lawfirm.example", true},
		{"press", "pr-agency@gmail.example", false},
		{"board", "chair@yahoo.example", false},
	}
	aliasNames = []string{"sales", "support", "jobs", "info", "hr"}

	outsideDomains = []string{"gmail.example", "outside.example", "victim.example", "yahoo.example",
		"freemail.example", "partner.example", "shop.example", "news.example", "bank.example", "uni.example"}
	firstNames = []string{"anna", "ahmed", "chen", "emma", "fatima", "ines", "john", "kofi", "li", "lucas",
		"mary", "max", "noah", "olga", "pedro", "raj", "sven", "tom", "yuki", "zoe"}
	lastNames = []string{"brown", "garcia", "khan", "kim", "mueller", "novak", "rossi", "silva", "smith", "tanaka"}
	helos     = []string{"ylmf-pc", "win-7K2P0Q", "localhost", "User", "desktop-3bb8", "smtp.example.net"}
	tlsCipher = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
)

type forward struct {
	alias, target string
	dotForward    bool // a .forward file: local(8) re-queues ("forwarded as")
}

// client is an SMTP client: its address, reverse name ("unknown" when none)
// and HELO name.
type client struct {
	ip, name, helo string
}

// who is how Postfix names a client: "name[ip]".
func (c client) who() string { return c.name + "[" + c.ip + "]" }

// eximHost is how Exim names a client in H=: "name [ip]", or "(helo) [ip]"
// when the address has no name.
func (c client) eximHost() string {
	if c.name == "unknown" {
		return "(" + c.helo + ") [" + c.ip + "]"
	}
	return c.name + " [" + c.ip + "]"
}

// makeClients fills the client pools. Addresses are drawn from ranges that
// stay outside the trusted networks.
func (g *gen) makeClients() {
	firstOctets := []int{23, 45, 62, 77, 81, 91, 103, 109, 141, 176, 185, 188, 193, 195, 203, 212, 217}
	seen := map[string]bool{}
	outside := func() string {
		for {
			ip := fmt.Sprintf("%d.%d.%d.%d", pick(g, firstOctets), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
			if !seen[ip] {
				seen[ip] = true
				return ip
			}
		}
	}
	for i := range 3000 {
		c := client{ip: outside(), name: "unknown", helo: pick(g, helos)}
		if i%3 != 0 {
			d := pick(g, outsideDomains)
			c.name = fmt.Sprintf("mx%d.%s", 1+g.rng.IntN(4), d)
			if i%5 == 0 {
				c.name = fmt.Sprintf("out-%d.mta.%s", i, d)
			}
			c.helo = c.name
		}
		g.clients = append(g.clients, c)
	}
	for range 25 {
		c := client{ip: outside(), name: "unknown", helo: pick(g, helos)}
		if g.chance(0.3) {
			c.helo = "[" + c.ip + "]"
		}
		g.abusers = append(g.abusers, c)
	}
	for i := range 40 {
		ip := fmt.Sprintf("10.20.%d.%d", i/8, 10+i)
		g.insiders = append(g.insiders, client{ip: ip, name: fmt.Sprintf("ws%02d.corp.example", i), helo: fmt.Sprintf("ws%02d.corp.example", i)})
	}
}

// outsider returns an address at an outside domain. With unique, the local
// part carries a counter, so that no two such addresses are the same.
func (g *gen) outsider(unique bool) string {
	f, l := pick(g, firstNames), pick(g, lastNames)
	var local string
	switch g.rng.IntN(4) {
	case 0:
		local = f + "." + l
	case 1:
		local = string(f[0]) + l
	default:
		local = fmt.Sprintf("%s%d", f, g.rng.IntN(10000))
	}
	if unique {
		local = fmt.Sprintf("%s.%d", local, g.next())
	}
	return local + "@" + pick(g, outsideDomains)
}

// outsiders returns n distinct outside addresses.
func (g *gen) outsiders(n int) []string {
	out := make([]string, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		a := g.outsider(false)
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// localRcpt is a recipient address at a local domain and the mailbox it
// is delivered to.
type localRcpt struct {
	addr    string
	mailbox string
}

// locals returns n distinct local recipients, some of them aliases.
func (g *gen) locals(n int) []localRcpt {
	out := make([]localRcpt, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		d := pick(g, mailDomains)
		var r localRcpt
		if g.chance(0.25) {
			a := pick(g, aliasNames)
			r = localRcpt{addr: a + "@" + d, mailbox: aliases[a]}
		} else {
			m := pick(g, mailboxes)
			r = localRcpt{addr: m + "@" + d, mailbox: m}
		}
		if !seen[r.addr] {
			seen[r.addr] = true
			out = append(out, r)
		}
	}
	return out
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

// mx returns the name and address of an outside domain's mail exchanger.
func mx(domain string) (name, ip string) {
	h := uint32(2166136261)
	for i := 0; i < len(domain); i++ {
		h = (h ^ uint32(domain[i])) * 16777619
	}
	return "mx." + domain, fmt.Sprintf("198.51.%d.%d", h>>8&0x3f, 1+h%250)
}
