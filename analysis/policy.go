// Package analysis correlates the event stream into messages and
// recipients and gives every recipient a verdict: is this mail the server
// relayed for a stranger?
//
// "Local" and "trusted" come from the user's Policy, never from the server's
// own configuration: an over-broad mynetworks is how open relays happen.
package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Policy is what the user says their network is.
type Policy struct {
	// LocalDomains are the domains the server receives mail for. A subdomain
	// of a local domain is local too, unless excluded.
	LocalDomains []string `json:"local_domains"`
	// NotLocal are subdomains of local domains that are not local (hosted
	// elsewhere): "!hosted.corp.example" in local_domains. Their own
	// subdomains are not local either, unless a longer local domain says so.
	NotLocal []string `json:"-"`
	// TrustedNetworks are the client networks allowed to relay without
	// authentication: the organisation's own hosts.
	TrustedNetworks []netip.Prefix `json:"-"`
	// Accounts are the thresholds of the account take-over signals; the
	// zero value means DefaultAccountRules.
	Accounts AccountRules `json:"-"`
}

// policyFile is the shape of a --config file, as in the corpus config.json.
type policyFile struct {
	LocalDomains    []string        `json:"local_domains"`
	TrustedNetworks []string        `json:"trusted_networks"`
	Accounts        json.RawMessage `json:"accounts"`
}

// LoadPolicy reads a JSON file {"local_domains": [...], "trusted_networks": [...]}.
func LoadPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	var f policyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Policy{}, fmt.Errorf("%s: %w: %s", path, ErrBadPolicy, policyJSONError(err))
	}
	// A misspelt key must not pass for an empty list: "trusted_netwroks"
	// would make every one of your own hosts an outside client.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return Policy{}, fmt.Errorf("%s: %w: %s", path, ErrBadPolicy, policyJSONError(err))
	}
	for k := range keys {
		if k != "local_domains" && k != "trusted_networks" && k != "accounts" {
			return Policy{}, fmt.Errorf("%s: %w: unknown key %q (known keys: local_domains, trusted_networks, accounts)", path, ErrBadPolicy, k)
		}
	}
	var p Policy
	if err := p.AddDomains(f.LocalDomains...); err != nil {
		return Policy{}, fmt.Errorf("%s: %w: local_domains: %v", path, ErrBadPolicy, err)
	}
	if err := p.AddNetworks(f.TrustedNetworks...); err != nil {
		return Policy{}, fmt.Errorf("%s: %w: trusted_networks: %v", path, ErrBadPolicy, err)
	}
	acc, err := parseAccountRules(f.Accounts)
	if err != nil {
		return Policy{}, fmt.Errorf("%s: %w: %v", path, ErrBadPolicy, err)
	}
	p.Accounts = acc
	return p, nil
}

// ErrBadPolicy is wrapped by LoadPolicy's errors about the file's content.
var ErrBadPolicy = errors.New("bad policy")

// policyJSONError says what is wrong with a policy file in its own terms:
// the key, and what was expected there.
func policyJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := "a list of strings"
		if te.Field == "" {
			want = `an object like {"local_domains": [...], "trusted_networks": [...]}`
		}
		field := te.Field
		if i := strings.IndexByte(field, '.'); i >= 0 {
			field = field[:i]
		}
		if field == "" {
			return fmt.Sprintf("want %s, not a JSON %s", want, te.Value)
		}
		return fmt.Sprintf("key %q: want %s, not a JSON %s", field, want, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

// AddDomains adds local domains, lower-cased and without a trailing dot. A
// domain written "!hosted.corp.example" is an exclusion: a subdomain of a
// local domain that is not local (see NotLocal).
func (p *Policy) AddDomains(domains ...string) error {
	for _, d := range domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		not := strings.HasPrefix(d, "!")
		d = strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(d, "!")), "@")
		if d == "" {
			if not {
				return fmt.Errorf("bad local domain exclusion %q", "!")
			}
			continue
		}
		if strings.ContainsAny(d, " @,/!") {
			return fmt.Errorf("bad local domain %q", d)
		}
		if not {
			p.NotLocal = append(p.NotLocal, d)
		} else {
			p.LocalDomains = append(p.LocalDomains, d)
		}
	}
	return nil
}

// AddNetworks adds trusted networks written as CIDR prefixes or single
// addresses ("192.0.2.0/24", "127.0.0.1").
func (p *Policy) AddNetworks(nets ...string) error {
	for _, n := range nets {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !strings.Contains(n, "/") {
			a, err := netip.ParseAddr(strings.Trim(n, "[]"))
			if err != nil {
				return fmt.Errorf("bad trusted network %q: %v", n, err)
			}
			p.TrustedNetworks = append(p.TrustedNetworks, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(strings.Replace(strings.Trim(n, "[]"), "]/", "/", 1))
		if err != nil {
			return fmt.Errorf("bad trusted network %q: %v", n, err)
		}
		if pf.Addr().Is4In6() {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		p.TrustedNetworks = append(p.TrustedNetworks, pf.Masked())
	}
	return nil
}

// Trusted reports whether a client address is inside the trusted networks.
func (p Policy) Trusted(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, n := range p.TrustedNetworks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Domain returns the lower-cased domain of an address, "" if it has none.
func Domain(address string) string {
	i := strings.LastIndexByte(address, '@')
	if i < 0 || strings.HasSuffix(address, `"`) { // `"user@victim"`: a quoted local part, no domain
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(address[i+1:]), ".")
}

// LocalDomain reports whether a domain is one of the local domains or a
// subdomain of one. The longest local domain or exclusion that domain is,
// or is under, decides: with "corp.example" and "!hosted.corp.example",
// a.hosted.corp.example is not local; with "mx.hosted.corp.example" too,
// mx.hosted.corp.example is again.
func (p Policy) LocalDomain(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	best, local := -1, false
	for i, list := range [...][]string{p.LocalDomains, p.NotLocal} {
		for _, d := range list {
			if len(d) > best && (domain == d || strings.HasSuffix(domain, "."+d)) {
				best, local = len(d), i == 0
			}
		}
	}
	return local
}

// External reports whether mail to address leaves the organisation: its
// domain is not local, or it is an address trick that asks a local domain to
// route the mail onwards (percent hack "user%victim@local", bang path
// "victim!user@local", a quoted or doubled @ "user@victim@local", source route
// "@local:user@victim"). An address without a domain is local (Postfix
// appends $myorigin to it).
func (p Policy) External(address string) bool {
	if RelayTrick(address) {
		return true
	}
	d := Domain(address)
	return d != "" && !p.LocalDomain(d)
}

// RelayTrick reports whether an address uses one of the routing tricks that
// relay testers try against a local domain. An address without a domain
// counts too when its local part holds one ("victim!user", `"user%victim"`,
// `"user@victim"`): Exim refuses those as unqualified, Postfix appends
// $myorigin and routes them on.
func RelayTrick(address string) bool {
	if strings.HasPrefix(address, "@") {
		return true // source route
	}
	local := address
	if Domain(address) != "" {
		local = address[:strings.LastIndexByte(address, '@')]
	}
	return strings.ContainsAny(strings.Trim(local, `"`), "%!@:")
}

// RelayDomain returns the domain mail to address would be relayed to: the
// domain for a plain address, the one the trick names for a relay-trick
// address (RelayTrick): "user%victim@local", "victim!user@local",
// `"user@victim"@local`, "user@victim@local", "@local:user@victim" all give
// victim. It is "" when there is none.
func RelayDomain(address string) string {
	if !RelayTrick(address) {
		return Domain(address)
	}
	if strings.HasPrefix(address, "@") {
		if _, rest, ok := strings.Cut(address, ":"); ok {
			return RelayDomain(rest)
		}
		return ""
	}
	local := address
	if Domain(address) != "" {
		local = address[:strings.LastIndexByte(address, '@')]
	}
	local = strings.ReplaceAll(local, `"`, "")
	if i := strings.LastIndexAny(local, "@%"); i >= 0 {
		return strings.TrimSuffix(strings.ToLower(local[i+1:]), ".")
	}
	if host, _, ok := strings.Cut(local, "!"); ok {
		return strings.TrimSuffix(strings.ToLower(host), ".")
	}
	return ""
}
