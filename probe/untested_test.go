package probe

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// literalRefusing is a go-smtp server that relays for everyone but refuses
// senders at an address literal at MAIL, as Exim does by default
// (allow_domain_literals = false): "501 … domain literals not allowed".
type literalRefusing struct {
	mu      sync.Mutex
	remotes []string // the client address of each connection
}

func (b *literalRefusing) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.remotes = append(b.remotes, c.Conn().RemoteAddr().String())
	b.mu.Unlock()
	return &literalSession{}, nil
}

type literalSession struct{}

func (literalSession) Mail(from string, _ *smtp.MailOptions) error {
	if strings.Contains(from, "@[") {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "<" + from + ">: domain literals not allowed"}
	}
	return nil
}
func (literalSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (literalSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (literalSession) Reset()        {}
func (literalSession) Logout() error { return nil }

// TestRunLiteralSendersRefused: against a server that relays everything but
// refuses IP-literal senders, every case is tried again with another
// sender, its recipient reaches RCPT, and no trick is reported refused for
// its sender (issue 20, item 1). go-smtp itself answers 501 to the paths it
// cannot parse (a bang path or a quoted local part without a domain): those
// recipients were sent and refused at RCPT, which is a test.
func TestRunLiteralSendersRefused(t *testing.T) {
	be := &literalRefusing{}
	port := startGoSMTP(t, be)
	res, err := Run(t.Context(), goSMTPConfig(port), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cases) != len(caseTable) || res.Summary.NotTested != 0 {
		t.Fatalf("%d cases, summary %+v; want %d cases, none untested", len(res.Cases), res.Summary, len(caseTable))
	}
	retried := 0
	for _, c := range res.Cases {
		if c.Stage != "RCPT" || strings.Contains(c.Sender, "@[") {
			t.Errorf("case %s: stage %s with sender <%s>: want RCPT reached with a sender the server takes", c.Name, c.Stage, c.Sender)
		}
		parseable := strings.Contains(c.Recipient[strings.LastIndexByte(c.Recipient, '"')+1:], "@")
		if want := map[bool]Verdict{true: Accepted, false: Refused}[parseable]; c.Verdict != want {
			t.Errorf("case %s <%s>: %s (%d %s), want %s", c.Name, c.Recipient, c.Verdict, c.Code, c.Text, want)
		}
		if len(c.Refused) > 0 {
			retried++
			a := c.Refused[0]
			if a.Code != 501 || !strings.Contains(a.Text, "domain literals not allowed") || !strings.Contains(a.Sender, "@[") || a.Marker == c.Marker {
				t.Errorf("case %s: refused attempt %+v, final marker %s", c.Name, a, c.Marker)
			}
		}
	}
	// ip-literal-sender and the thirteen tricks nmap sends from the
	// address literal.
	if retried != 14 {
		t.Errorf("%d cases retried with another sender, want 14", retried)
	}
}

// TestRunLiteralSendersRefusedScripted is the same against a server that
// takes every recipient form: then no case at all is refused.
func TestRunLiteralSendersRefusedScripted(t *testing.T) {
	srv := startServer(t, func(s *fakeServer) {
		s.mail = func(arg string) string {
			if strings.Contains(arg, "@[") {
				return "501 " + arg + ": domain literals not allowed"
			}
			return "250 OK"
		}
		s.rcpt = func(string) string { return "250 Accepted" }
	})
	res, err := Run(t.Context(), testConfig(srv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Verdict != Accepted || c.Stage != "RCPT" {
			t.Errorf("case %s: %s at %s (%d %s), want accepted at RCPT", c.Name, c.Verdict, c.Stage, c.Code, c.Text)
		}
	}
	if s := res.Summary; s.Accepted != len(caseTable) || s.Refused != 0 || s.NotTested != 0 {
		t.Errorf("summary %+v, want every case accepted", s)
	}
}

// TestNotTested: a server that refuses every sender but the null one tests
// only the null-sender case; the others are "not tested", with the MAIL
// replies as the reason, counted, and the server is not called closed on
// them. When no sender at all is taken, the probe is an error.
func TestNotTested(t *testing.T) {
	srv := startServer(t, func(s *fakeServer) {
		s.mail = func(arg string) string {
			if arg == "<>" {
				return "250 OK"
			}
			return "550 5.7.1 " + arg + ": sender refused"
		}
	})
	res, err := Run(t.Context(), testConfig(srv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		want := NotTested
		if c.Name == "null-sender" {
			want = Refused
		}
		if c.Verdict != want {
			t.Errorf("case %s: %s, want %s", c.Name, c.Verdict, want)
		}
		if want == NotTested && (!strings.Contains(c.Untested, "MAIL FROM refused for every sender tried") ||
			!strings.Contains(c.Untested, "550 5.7.1") || strings.Count(c.Untested, "<relaysleuth-") < 2) {
			t.Errorf("case %s: reason %q, want every sender tried and its reply", c.Name, c.Untested)
		}
	}
	if s := res.Summary; s.NotTested != len(caseTable)-1 || s.Refused != 1 || s.Open {
		t.Errorf("summary %+v", s)
	}

	open, stdout, stderr, err := command(t, "--port", strconv.Itoa(srv.Port), "--from-domain", "test.example", "127.0.0.1")
	if err != nil || open {
		t.Fatalf("Command = %v, %v", open, err)
	}
	if !strings.Contains(stdout, "NOT TESTED: 17 of 18 cases (local-sender, outside-sender, server-name-sender,") ||
		!strings.Contains(stdout, "not called closed") {
		t.Errorf("table does not say what was not tested:\n%s", stdout)
	}
	if !strings.Contains(stderr, "warning: 17 of 18 cases not tested") {
		t.Errorf("stderr:\n%s", stderr)
	}

	none := startServer(t, func(s *fakeServer) { s.mail = func(string) string { return "501 domain literals not allowed" } })
	_, _, _, err = command(t, "--port", strconv.Itoa(none.Port), "127.0.0.1")
	if err == nil || !strings.Contains(err.Error(), "no case could be tested") {
		t.Errorf("every sender refused: Command error %v, want no case could be tested", err)
	}
}

// TestRunSynprotDrop: Exim ends a connection after smtp_max_synprot_errors
// syntax errors (each refused address literal counts), right after its
// reply; the probe connects again and every case still reaches RCPT.
func TestRunSynprotDrop(t *testing.T) {
	var mu sync.Mutex
	errs := map[net.Conn]int{}
	srv := startServer(t, func(s *fakeServer) {
		s.raw = func(c net.Conn) {
			defer c.Close()
			io.WriteString(c, "220 "+localDomain+" ESMTP\r\n")
			buf := make([]byte, 4096)
			var line []byte
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				line = append(line, buf[:n]...)
				for {
					i := strings.Index(string(line), "\r\n")
					if i < 0 {
						break
					}
					cmd := string(line[:i])
					line = line[i+2:]
					up := strings.ToUpper(cmd)
					switch {
					case strings.HasPrefix(up, "EHLO"):
						io.WriteString(c, "250 "+localDomain+"\r\n")
					case strings.HasPrefix(up, "MAIL") && strings.Contains(cmd, "@["):
						mu.Lock()
						errs[c]++
						n := errs[c]
						mu.Unlock()
						if n > 3 {
							io.WriteString(c, "501-domain literals not allowed\r\n501 Too many syntax or protocol errors\r\n")
							return
						}
						io.WriteString(c, "501 domain literals not allowed\r\n")
					case strings.HasPrefix(up, "RCPT"):
						io.WriteString(c, "550 relay not permitted\r\n")
					case strings.HasPrefix(up, "QUIT"):
						io.WriteString(c, "221 bye\r\n")
						return
					default:
						io.WriteString(c, "250 OK\r\n")
					}
				}
			}
		}
	})
	res, err := Run(t.Context(), testConfig(srv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cases {
		if c.Verdict != Refused || c.Stage != "RCPT" {
			t.Errorf("case %s: %s at %s (%d %s; %s), want refused at RCPT", c.Name, c.Verdict, c.Stage, c.Code, c.Text, c.Error)
		}
	}
	if srv.connections() < 2 {
		t.Errorf("%d connections: the server never dropped one", srv.connections())
	}
}

// TestRunSource: --source chooses the probe's address.
func TestRunSource(t *testing.T) {
	be := &literalRefusing{}
	port := startGoSMTP(t, be)
	cfg := goSMTPConfig(port)
	cfg.Source = netip.MustParseAddr("127.0.0.2")
	cfg.Cases = []string{"local-sender"}
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.ClientIP != cfg.Source || res.Cases[0].ClientIP != cfg.Source {
		t.Errorf("client %s, case from %s; want %s", res.ClientIP, res.Cases[0].ClientIP, cfg.Source)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.remotes) != 1 || !strings.HasPrefix(be.remotes[0], "127.0.0.2:") {
		t.Errorf("server saw %v, want 127.0.0.2", be.remotes)
	}
	_, _, _, err = command(t, "--source", "not-an-ip", "127.0.0.1")
	if err == nil {
		t.Errorf("--source not-an-ip: no error")
	}
}
