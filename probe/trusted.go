package probe

import "net/netip"

// InTrusted reports whether addr, the probe's own address, lies in one of
// the server's trusted networks (Postfix mynetworks, Exim relay_from_hosts).
// A server relays for those by design, so a probe from there says nothing
// about strangers: it should run from outside. IPv4-mapped IPv6 addresses
// are compared as IPv4.
func InTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
		if p.Addr().Is4In6() { // "::ffff:10.0.0.0/104" as written in some configs
			if q, err := p.Addr().Unmap().Prefix(p.Bits() - 96); err == nil && p.Bits() >= 96 && q.Contains(addr) {
				return true
			}
		}
	}
	return false
}
