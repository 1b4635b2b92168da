package probe

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// relayBackend is a real SMTP server (github.com/emersion/go-smtp) that
// relays for everyone when open, and otherwise takes mail for its own
// domain only, refusing the rest the way Postfix does.
type relayBackend struct{ open bool }

func (b relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{b.open}, nil }

type relaySession struct{ open bool }

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	at := strings.LastIndexByte(to, '@')
	if s.open || to[at+1:] == localDomain && !strings.ContainsAny(to[:at], `%!@"`) {
		return nil
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
}

func (s *relaySession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

// startGoSMTP serves be on 127.0.0.1 until the test ends.
func startGoSMTP(t *testing.T, be smtp.Backend) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = localDomain
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("go-smtp server: %v", err)
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func goSMTPConfig(port int) Config {
	return Config{Host: "127.0.0.1", Port: port, LocalDomain: localDomain, NoTLS: true, Timeout: 5 * time.Second}
}

func TestRunGoSMTPClosed(t *testing.T) {
	port := startGoSMTP(t, relayBackend{})
	res, err := Run(t.Context(), goSMTPConfig(port), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Open() || len(res.Cases) != len(CaseNames()) {
		t.Fatalf("closed server: open = %v, %d cases, want closed with %d", res.Open(), len(res.Cases), len(CaseNames()))
	}
	for _, c := range res.Cases {
		if c.Verdict != Refused {
			t.Errorf("case %s: %s (%d %s), want refused", c.Name, c.Verdict, c.Code, c.Text)
		}
	}
	if c := res.Cases[0]; c.Stage != "RCPT" || c.Code != 554 || !strings.Contains(c.Text, "Relay access denied") {
		t.Errorf("local-sender = %+v, want 554 Relay access denied at RCPT", c)
	}
}

func TestRunGoSMTPOpen(t *testing.T) {
	port := startGoSMTP(t, relayBackend{open: true})
	res, err := Run(t.Context(), goSMTPConfig(port), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Open() || res.Summary.Accepted == 0 {
		t.Fatalf("open server: summary %+v, want accepted cases", res.Summary)
	}
	// go-smtp reads RFC 5321 paths: what parses is accepted; a path without
	// a domain (bang paths, a quoted local part alone) gets a 501.
	for _, c := range res.Cases {
		want := Accepted
		if unquoted := c.Recipient[strings.LastIndexByte(c.Recipient, '"')+1:]; !strings.Contains(unquoted, "@") {
			want = Refused
		}
		if c.Verdict != want {
			t.Errorf("case %s <%s>: %s (%d %s), want %s", c.Name, c.Recipient, c.Verdict, c.Code, c.Text, want)
		}
		if c.ClientIP.String() != "127.0.0.1" || c.ClientPort == 0 || c.Time.IsZero() {
			t.Errorf("case %s: client %s:%d at %v, want 127.0.0.1 and a time", c.Name, c.ClientIP, c.ClientPort, c.Time)
		}
	}
}

func TestCommandGoSMTP(t *testing.T) {
	for _, open := range []bool{false, true} {
		port := startGoSMTP(t, relayBackend{open: open})
		got, stdout, _, err := command(t, "--no-tls", "--case", "local-sender,null-sender",
			"--from-domain", localDomain, "127.0.0.1:"+strconv.Itoa(port))
		if err != nil || got != open {
			t.Errorf("open=%v server: Command = %v, %v\n%s", open, got, err, stdout)
		}
	}
}
