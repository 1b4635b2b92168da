package probe

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// lintHost is the host the configurations below run on: a server in a /24
// of a private network, plus loopback.
var lintHost = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.1.2.0/24"),
}

// publicHost is a server on a public address, in its provider's /24.
var publicHost = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("198.51.100.0/24")}

// A want is the line and setting of one expected warning.
type want struct {
	line    int
	setting string
}

func lines(ws []Warning) []want {
	var got []want
	for _, w := range ws {
		got = append(got, want{w.Line, w.Setting})
	}
	return got
}

var postconfTests = []struct {
	name, conf string
	own        []netip.Prefix
	want       []want
}{
	{"debian default", "", lintHost, nil}, // testdata/probe/postconf-debian.txt, read below
	{"debian default, public host", "", publicHost, nil},
	{"everyone", "mynetworks = 0.0.0.0/0\n", lintHost, []want{{1, "mynetworks"}}},
	{"private /8 around a /24", "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8, 10.0.0.0/8\n", lintHost, []want{{2, "mynetworks"}}},
	{"own /24 and a host", "mynetworks = 127.0.0.0/8 10.1.2.0/24 192.168.7.9\n", lintHost, nil},
	{"public /16", "mynetworks = 127.0.0.0/8 [::1]/128 203.0.0.0/16\n", lintHost, []want{{1, "mynetworks"}}},
	{"ipv6 everyone, continued line", "mynetworks = 127.0.0.0/8\n    [::]/0\n", lintHost, []want{{2, "mynetworks"}}},
	{"main.cf comments and exceptions", "# mynetworks = 0.0.0.0/0\nmynetworks = !10.1.2.9 10.1.2.0/24\n", lintHost, nil},
	{"style subnet on a public host", "compatibility_level = 3.6\nmynetworks_style = subnet\n", publicHost, []want{{2, "mynetworks_style"}}},
	{"style subnet on a private host", "compatibility_level = 3.6\nmynetworks_style = subnet\n", lintHost, nil},
	{"style class on a private host", "compatibility_level = 3.6\nmynetworks_style = class\n", lintHost, []want{{2, "mynetworks_style"}}},
	{"old default style on a public host", "compatibility_level = 0\n", publicHost, []want{{1, "mynetworks_style"}}},
	{"style host", "compatibility_level = 3.6\nmynetworks_style = host\n", publicHost, nil},
	{"relay restrictions without the check",
		"mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated\n", lintHost,
		[]want{{2, "smtpd_relay_restrictions"}}},
	{"permit before the check",
		"smtpd_relay_restrictions = permit_mynetworks permit reject_unauth_destination\nsmtpd_recipient_restrictions = permit_mynetworks, permit\n", lintHost,
		[]want{{1, "smtpd_relay_restrictions"}, {2, "smtpd_recipient_restrictions"}}},
	{"recipient restrictions still protect",
		"smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, permit\n", lintHost, nil},
	{"pre-2.10 style, empty relay list, nothing protects",
		"smtpd_relay_restrictions =\nsmtpd_recipient_restrictions =\n  permit_mynetworks,\n  check_client_access static:OK,\n  reject_unauth_destination\n", lintHost,
		[]want{{1, "smtpd_relay_restrictions"}, {4, "smtpd_recipient_restrictions"}}},
	{"check_client_access with a real table is left to the admin",
		"smtpd_relay_restrictions = check_client_access cidr:/etc/postfix/clients, reject_unauth_destination\n", lintHost, nil},
	{"restrictions through a parameter",
		"my_rules = permit_mynetworks, permit\nsmtpd_relay_restrictions = $my_rules, reject_unauth_destination\n", lintHost,
		[]want{{1, "smtpd_relay_restrictions"}}},
}

func TestLintPostconf(t *testing.T) {
	debian, err := os.ReadFile("../testdata/probe/postconf-debian.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range postconfTests {
		conf := tt.conf
		if conf == "" {
			conf = string(debian)
		}
		ws, err := LintPostconf(strings.NewReader(conf), "main.cf", tt.own)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := lines(ws); !slices.Equal(got, tt.want) {
			t.Errorf("%s: warnings at %v, want %v\n%v", tt.name, got, tt.want, ws)
		}
	}
}

// eximDebianRcpt is the tail of Debian's acl_check_rcpt, generated from
// conf.d/acl/30_exim4-config_check_rcpt, with its relay check.
const eximDebianRcpt = `begin acl
acl_check_rcpt:
  accept
    hosts = :
    control = dkim_disable_verify
  accept
    local_parts = postmaster
    domains = +local_domains : +relay_to_domains
  accept
    hosts = +relay_from_hosts
    control = submission/sender_retain
  accept
    authenticated = *
    control = submission/sender_retain
  require
    message = relay not permitted
    domains = +local_domains : +relay_to_domains
  require
    verify = recipient
  accept
`

var eximTests = []struct {
	name, conf string
	want       []want
}{
	{"debian template", "", nil}, // testdata/probe/exim4.conf.template, read below
	{"debian macros", "MAIN_RELAY_NETS = <; 127.0.0.1 ; ::1 ; 10.1.2.0/24\nhostlist relay_from_hosts = MAIN_RELAY_NETS\n" + eximDebianRcpt, nil},
	{"relay_from_hosts everyone", "hostlist relay_from_hosts = 127.0.0.1 : *\n" + eximDebianRcpt, []want{{1, "relay_from_hosts"}}},
	{"relay_from_hosts a /8", "hostlist relay_from_hosts = <; 127.0.0.1 ; ::1 ; 10.0.0.0/8\n" + eximDebianRcpt, []want{{1, "relay_from_hosts"}}},
	{"relay_from_hosts with colons doubled", "hostlist relay_from_hosts = 127.0.0.1 : ::::/0\n" + eximDebianRcpt, []want{{1, "relay_from_hosts"}}},
	{"relay_from_hosts through a macro, continued",
		"NETS = 127.0.0.1 : \\\n  0.0.0.0/0\nhostlist relay_from_hosts = NETS\n" + eximDebianRcpt, []want{{3, "relay_from_hosts"}}},
	{"accept with a control only", "begin acl\nacl_check_rcpt:\n  accept  hosts = :\n  accept  control = submission\n  require domains = +local_domains\n", []want{{4, "acl_check_rcpt"}}},
	{"accept on senders", "begin acl\nacl_check_rcpt:\n  accept\n    senders = *@example.org\n  require verify = recipient\n", []want{{3, "acl_check_rcpt"}}},
	{"accept for foreign domains", "begin acl\nacl_check_rcpt:\n  accept domains = !+local_domains\n  deny message = relay not permitted\n    domains = !+local_domains\n", []want{{3, "acl_check_rcpt"}}},
	{"accept hosts everyone", "begin acl\nacl_check_rcpt:\n  accept hosts = *\n  require verify = recipient\n", []want{{3, "acl_check_rcpt"}}},
	{"accept after the relay check", "begin acl\nacl_check_rcpt:\n  deny domains = !+local_domains\n  accept\n", nil},
	{"no relay check, final accept", "begin acl\nacl_check_rcpt:\n  accept hosts = +relay_from_hosts\n  accept\n", []want{{4, "acl_check_rcpt"}}},
	{"another ACL named", "acl_smtp_rcpt = my_rcpt\nbegin acl\nacl_check_rcpt:\n  accept\nmy_rcpt:\n  require verify = recipient\n  accept\n", nil},
	{"conditionals", ".ifdef NOPE\nhostlist relay_from_hosts = *\n.else\nhostlist relay_from_hosts = 127.0.0.1\n.endif\n", nil},
}

func TestLintExim(t *testing.T) {
	debian, err := os.ReadFile("../testdata/probe/exim4.conf.template")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range eximTests {
		conf := tt.conf
		if conf == "" {
			conf = string(debian)
		}
		ws, err := LintExim(strings.NewReader(conf), "exim4.conf", lintHost)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := lines(ws); !slices.Equal(got, tt.want) {
			t.Errorf("%s: warnings at %v, want %v\n%v", tt.name, got, tt.want, ws)
		}
	}
}

func TestParseNet(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8": "10.0.0.0/8", "192.0.2.1": "192.0.2.1/32", "[2001:db8::]/32": "2001:db8::/32",
		"[::ffff:127.0.0.0]/104": "127.0.0.0/8", "[::1]": "::1/128", "mail.example.org": "invalid Prefix",
		"10.0.0.0/33": "invalid Prefix",
	} {
		p, _ := parseNet(in)
		if p.String() != want {
			t.Errorf("parseNet(%q) = %s, want %s", in, p, want)
		}
	}
}
