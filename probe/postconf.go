package probe

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// A confItem is one word of a setting's value, with the line it is on.
type confItem struct {
	text string
	line int
}

// A postconfParam is one "name = value" of main.cf or of postconf -n.
type postconfParam struct {
	line  int
	items []confItem
}

// readPostconf reads "name = value" lines: the output of postconf -n, or
// main.cf itself, whose values go on over lines that start with white space
// and whose comments start with "#" (postconf(5)). Items are separated by
// commas and white space.
func readPostconf(r io.Reader) (map[string]*postconfParam, error) {
	params := map[string]*postconfParam{}
	var cur *postconfParam
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		value := trimmed
		if line[0] != ' ' && line[0] != '\t' {
			name, v, ok := strings.Cut(line, "=")
			if !ok {
				cur = nil
				continue
			}
			cur = &postconfParam{line: n}
			params[strings.TrimSpace(name)] = cur
			value = v
		}
		if cur == nil {
			continue
		}
		for f := range strings.FieldsFuncSeq(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			cur.items = append(cur.items, confItem{f, n})
		}
	}
	return params, sc.Err()
}

// LintPostconf reads the output of "postconf -n" (or a main.cf) from r and
// returns the settings that make Postfix an open relay, or trust more than
// own, the host's networks (HostNetworks), each with its line in file:
//
//   - mynetworks with everyone, a public /8 to /16, or a network wider than
//     the host's own (the host in 10.1.2.0/24, mynetworks 10.0.0.0/8);
//   - no mynetworks, and mynetworks_style class or subnet (the default below
//     compatibility_level 2) on a public address: the provider's whole
//     network is trusted;
//   - neither smtpd_relay_restrictions nor smtpd_recipient_restrictions
//     stopping strangers with reject_unauth_destination (or
//     defer_unauth_destination) before a "permit", or a check_*_access
//     with a static OK, lets them through (SMTPD_ACCESS_README).
func LintPostconf(r io.Reader, file string, own []netip.Prefix) ([]Warning, error) {
	params, err := readPostconf(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var ws []Warning
	add := func(line int, setting, value, text string) {
		ws = append(ws, Warning{File: file, Line: line, Setting: setting, Value: value, Text: text})
	}

	if p, ok := params["mynetworks"]; ok {
		for _, it := range p.items {
			if strings.HasPrefix(it.text, "!") {
				continue // an exception narrows the list
			}
			if n, ok := parseNet(it.text); ok {
				if why := netProblem(n, own); why != "" {
					add(it.line, "mynetworks", it.text, it.text+" "+why)
				}
			}
		}
	} else {
		style, line := "", 0
		if p, ok := params["mynetworks_style"]; ok && len(p.items) > 0 {
			style, line = p.items[0].text, p.line
		} else if compatibility(params) < 2 {
			style = "subnet" // postconf(5): the default below compatibility_level 2
			if p, ok := params["compatibility_level"]; ok {
				line = p.line
			}
		}
		if style == "subnet" || style == "class" {
			for _, o := range own {
				n := o
				if style == "class" {
					n = classful(o)
				}
				if n.Addr().IsLoopback() || n.Bits() == n.Addr().BitLen() {
					continue
				}
				why := netProblem(n, own)
				if why == "" && !n.Addr().IsPrivate() && !isShared(n.Addr()) {
					why = fmt.Sprintf("trusts the public network %s the host is in: every host there may relay", n)
				}
				if why != "" {
					add(line, "mynetworks_style", style, fmt.Sprintf("mynetworks_style = %s without mynetworks: %s %s; set mynetworks = 127.0.0.0/8 [::1]/128 and the host's own addresses", style, n, why))
				}
			}
		}
	}

	relay, relaySet := params["smtpd_relay_restrictions"]
	rcpt, rcptSet := params["smtpd_recipient_restrictions"]
	if !relaySet {
		return ws, nil // postconf(5): permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination
	}
	relayOK, relayPermit := restrictionsProtect(relay, params)
	if relayOK {
		return ws, nil
	}
	rcptOK, rcptPermit := false, (*confItem)(nil)
	if rcptSet {
		rcptOK, rcptPermit = restrictionsProtect(rcpt, params)
	}
	if rcptOK {
		return ws, nil
	}
	const open = "every recipient passes: an open relay"
	switch {
	case relayPermit != nil:
		add(relayPermit.line, "smtpd_relay_restrictions", relayPermit.text, relayPermit.text+" before reject_unauth_destination: "+open)
	default:
		add(relay.line, "smtpd_relay_restrictions", "", "no reject_unauth_destination or defer_unauth_destination: "+open)
	}
	switch {
	case !rcptSet:
	case rcptPermit != nil:
		add(rcptPermit.line, "smtpd_recipient_restrictions", rcptPermit.text, rcptPermit.text+" before reject_unauth_destination, and smtpd_relay_restrictions does not stop relaying either")
	default:
		add(rcpt.line, "smtpd_recipient_restrictions", "", "no reject_unauth_destination either")
	}
	return ws, nil
}

// restrictionsProtect walks a restriction list as smtpd does, first match
// wins, and reports whether reject_unauth_destination (or
// defer_unauth_destination) comes before anything that permits every
// client; if not, permit is that item, or nil when the list just ends.
func restrictionsProtect(p *postconfParam, params map[string]*postconfParam) (ok bool, permit *confItem) {
	items := expand(p.items, params, 0)
	for i, it := range items {
		switch strings.ToLower(it.text) {
		case "reject_unauth_destination", "defer_unauth_destination":
			return true, nil
		case "permit":
			return false, &items[i]
		}
		if strings.HasPrefix(it.text, "check_") && strings.HasSuffix(it.text, "_access") && i+1 < len(items) {
			if t := strings.ToLower(items[i+1].text); t == "static:ok" || t == "static:permit" {
				it.text += " " + items[i+1].text
				return false, &it
			}
		}
	}
	return false, nil
}

// expand replaces "$name" items by the items of that parameter.
func expand(items []confItem, params map[string]*postconfParam, depth int) []confItem {
	var out []confItem
	for _, it := range items {
		name, ok := strings.CutPrefix(it.text, "$")
		name = strings.Trim(name, "{}()")
		if p, found := params[name]; ok && found && depth < 8 {
			out = append(out, expand(p.items, params, depth+1)...)
			continue
		}
		out = append(out, it)
	}
	return out
}

func compatibility(params map[string]*postconfParam) float64 {
	p, ok := params["compatibility_level"]
	if !ok || len(p.items) == 0 {
		return 0
	}
	major, _, _ := strings.Cut(p.items[0].text, ".")
	v, err := strconv.ParseFloat(major, 64)
	if err != nil {
		return 3 // "${{$compatibility_level} < {1}}" and the like: assume new
	}
	return v
}

// classful is the class A, B or C network of an IPv4 address, as
// mynetworks_style = class trusts it; other addresses stay as they are.
func classful(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4() {
		return p
	}
	b := p.Addr().As4()[0]
	bits := 24
	switch {
	case b < 128:
		bits = 8
	case b < 192:
		bits = 16
	}
	n, _ := p.Addr().Prefix(bits)
	return n
}
