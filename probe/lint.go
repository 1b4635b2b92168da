package probe

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// A Warning is a setting in a mail server's configuration that makes it an
// open relay, or trusts more clients than the host's own networks.
type Warning struct {
	File    string `json:"file"`
	Line    int    `json:"line"`    // 1-based line of the setting (of the item, in a continued value)
	Setting string `json:"setting"` // "mynetworks", "acl_check_rcpt"
	Value   string `json:"value"`   // the item that causes it: "0.0.0.0/0", "permit"
	Text    string `json:"text"`
}

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Setting, w.Text)
}

// HostNetworks returns the networks of this host's interfaces, the networks
// a server's trusted list should not go beyond. Loopback is always among them.
func HostNetworks() []netip.Prefix {
	nets := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nets
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || ip.IsLinkLocalUnicast() {
			continue
		}
		ones, _ := ipn.Mask.Size()
		ip = ip.Unmap()
		if ip.Is4() && ones > 32 {
			ones -= 96
		}
		if p, err := ip.Prefix(ones); err == nil {
			nets = append(nets, p)
		}
	}
	return nets
}

// parseNet reads a network as configurations write it: "10.0.0.0/8",
// "[2001:db8::]/32", "192.0.2.1", "[::1]", "[::ffff:127.0.0.0]/104" (an
// IPv4-mapped network, returned as IPv4).
func parseNet(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	addr, bits, hasBits := strings.Cut(s, "/")
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		if _, err := fmt.Sscanf(bits, "%d", &n); err != nil || n < 0 || n > a.BitLen() {
			return netip.Prefix{}, false
		}
	}
	if a.Is4In6() && n >= 96 {
		a, n = a.Unmap(), n-96
	}
	p, err := a.Prefix(n)
	return p, err == nil
}

// netProblem says what is wrong with trusting p, or "" when nothing is:
// everyone, a public network of a /16 or more (a /32 or more in IPv6), or a
// network wider than one the host is in ("10.0.0.0/8" for a host in a /24).
func netProblem(p netip.Prefix, own []netip.Prefix) string {
	if p.Bits() == 0 {
		return "trusts every address on the Internet: an open relay"
	}
	public := !p.Addr().IsPrivate() && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() && !isShared(p.Addr())
	if public && (p.Addr().Is4() && p.Bits() <= 16 || p.Addr().Is6() && p.Bits() <= 32) {
		return fmt.Sprintf("trusts a public network of %s addresses: an open relay for everyone in it", size(p))
	}
	for _, o := range own {
		if o.Addr().BitLen() == p.Addr().BitLen() && p.Bits() < o.Bits() && p.Contains(o.Addr()) {
			return fmt.Sprintf("wider than the host's own network %s: every host in %s may relay", o, p)
		}
	}
	return ""
}

// isShared reports the carrier-grade NAT range 100.64.0.0/10 (RFC 6598),
// which is not public but not the host's either.
func isShared(a netip.Addr) bool {
	return netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

func size(p netip.Prefix) string {
	if p.Addr().Is4() {
		return fmt.Sprintf("%d", uint64(1)<<(32-p.Bits()))
	}
	return "/" + fmt.Sprint(p.Bits())
}
