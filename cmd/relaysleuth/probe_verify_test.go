package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/relaysleuth/relaysleuth/probe"
)

// postfixLike is an SMTP server (github.com/emersion/go-smtp) on 127.0.0.1
// that writes a Postfix log as it goes, the way Postfix logs what the probe
// does: a NOQUEUE reject line for each refused recipient, and for the
// accepted null-sender case a queue file whose message then bounces. It
// refuses everything else with "Relay access denied", and logs nothing for
// a recipient it cannot parse (Postfix does not log syntax errors either).
type postfixLike struct {
	mu  sync.Mutex
	log *os.File
	nq  int
}

func (b *postfixLike) logf(daemon, format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000000-07:00")
	fmt.Fprintf(b.log, "%s mail postfix/%s[4242]: %s\n", stamp, daemon, fmt.Sprintf(format, args...))
}

func (b *postfixLike) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.logf("smtpd", "connect from localhost[127.0.0.1]")
	return &postfixSession{b: b, helo: c.Hostname()}, nil
}

type postfixSession struct {
	b    *postfixLike
	helo string
	from string
}

func (s *postfixSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *postfixSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	// The probe's recipients carry its marker: "relaytest-RUN-03a@…".
	if s.from == "" && strings.HasPrefix(to, "relaytest-") && strings.HasSuffix(to, "@relaytest.invalid") && strings.Count(to, "@") == 1 {
		s.b.mu.Lock()
		s.b.nq++
		qid := fmt.Sprintf("4B49DBC3%02X", s.b.nq)
		s.b.mu.Unlock()
		s.b.logf("smtpd", "%s: client=localhost[127.0.0.1]", qid)
		s.b.logf("cleanup", "%s: message-id=<probe.%s@mail.probe.test>", qid, qid)
		s.b.logf("qmgr", "%s: from=<>, size=312, nrcpt=1 (queue active)", qid)
		s.b.logf("smtp", "%s: to=<%s>, relay=none, delay=0.02, delays=0.01/0/0.01/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=relaytest.invalid type=A: Host not found)", qid, to)
		s.b.logf("qmgr", "%s: removed", qid)
		return nil
	}
	// go-smtp hands over the path as Postfix logs it: source route dropped,
	// quotes removed.
	s.b.logf("smtpd", "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <%s>: Relay access denied; from=<%s> to=<%s> proto=ESMTP helo=<%s>",
		to, s.from, to, s.helo)
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
}

func (s *postfixSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (s *postfixSession) Reset()        {}
func (s *postfixSession) Logout() error { return nil }

func startPostfixLike(t *testing.T, logPath string) string {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(&postfixLike{log: f})
	srv.Domain = "mail.probe.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
		f.Close()
	})
	return ln.Addr().String()
}

func TestProbeVerifyLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "mail.log")
	addr := startPostfixLike(t, logPath)
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"probe", "--no-tls", "--delay", "0", "--timeout", "5s", "--log-wait", "0",
		"--case", "local-sender,null-sender,source-route-ip,quoted-at-ip,bang", "--from-domain", "probe.test",
		"--verify-log", logPath, "--timezone", "UTC", "--db", filepath.Join(dir, "probe.db"), "--format", "json", addr}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("probe: %v, want relay found (the null-sender case is accepted)\n%s", err, stderr.String())
	}
	var res probe.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	want := map[string]struct {
		verdict probe.Verdict
		log     probe.LogStatus
		match   string
	}{
		// Each case is tied by its marker, whatever the server did to
		// the rest of the address.
		"local-sender":    {probe.Refused, probe.LogRefused, "marker"},
		"null-sender":     {probe.Accepted, probe.LogBounced, "marker"},
		"source-route-ip": {probe.Refused, probe.LogRefused, "marker"},
		"quoted-at-ip":    {probe.Refused, probe.LogRefused, "marker"},
		"bang":            {probe.Refused, probe.LogMissing, ""},
	}
	if len(res.Cases) != len(want) {
		t.Fatalf("%d cases, want %d", len(res.Cases), len(want))
	}
	for _, c := range res.Cases {
		w := want[c.Name]
		if c.Log == nil {
			t.Errorf("case %s: no log object", c.Name)
			continue
		}
		if c.Verdict != w.verdict || c.Log.Status != w.log || c.Log.Match != w.match {
			t.Errorf("case %s: verdict %s, log %s by %q, want %s, %s by %q (%+v)", c.Name, c.Verdict, c.Log.Status, c.Log.Match, w.verdict, w.log, w.match, c.Log)
		}
		if c.Log.Status == probe.LogRefused && (!strings.Contains(c.Log.Reply, "Relay access denied") || len(c.Log.Evidence) == 0 ||
			!strings.HasPrefix(c.Log.Evidence[0], logPath+":")) {
			t.Errorf("case %s: reply %q, evidence %v: want the logged refusal and its line", c.Name, c.Log.Reply, c.Log.Evidence)
		}
		if c.Log.Status == probe.LogBounced && (c.Log.QueueID == "" || !strings.Contains(c.Log.Finding, "bounced")) {
			t.Errorf("case %s: %+v, want a queue id and a bounced finding", c.Name, c.Log)
		}
	}
	ls := res.LogSummary
	if ls == nil || ls.Found != 4 || ls.Missing != 1 || ls.Relayed != 0 || ls.Disagree != 0 {
		t.Errorf("log summary %+v, want 4 found, 1 not in the log, none relayed", ls)
	}
	if !strings.Contains(stderr.String(), "1 of 5 cases are not in the server's log") {
		t.Errorf("stderr lacks the not-in-the-log warning:\n%s", stderr.String())
	}

	// The table says the same to a human.
	stdout.Reset()
	stderr.Reset()
	err = runCLI(t, []string{"probe", "--no-tls", "--delay", "0", "--timeout", "5s", "--log-wait", "0",
		"--case", "null-sender,bang", "--verify-log", logPath, "--timezone", "UTC", addr}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("probe (table): %v\n%s", err, stderr.String())
	}
	for _, s := range []string{"Server log (" + logPath + ")", "accepted, then bounced", "not in the log"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, stdout.String())
		}
	}
}

// TestProbeVerifyLogWrongLog checks that a log without the probe's lines
// says so: every case "not in the log".
func TestProbeVerifyLogWrongLog(t *testing.T) {
	dir := t.TempDir()
	addr := startPostfixLike(t, filepath.Join(dir, "mail.log"))
	other := filepath.Join(dir, "other.log")
	line := "2020-01-02T03:04:05.000000+00:00 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.9]: 554 5.7.1 <a@b.example>: Relay access denied; from=<> to=<a@b.example> proto=ESMTP helo=<x>\n"
	if err := os.WriteFile(other, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"probe", "--no-tls", "--delay", "0", "--timeout", "5s", "--log-wait", "0",
		"--case", "local-sender", "--verify-log", other, "--timezone", "UTC", "--format", "json", addr}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, stderr.String())
	}
	var res probe.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if c := res.Cases[0]; c.Log == nil || c.Log.Status != probe.LogMissing {
		t.Errorf("case %+v: want not in the log", c)
	}
	if !strings.Contains(stderr.String(), "no case of the probe from 127.0.0.1 is in the log") {
		t.Errorf("stderr lacks the wrong-log warning:\n%s", stderr.String())
	}
}

func TestProbeConfigLint(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "postconf.txt")
	os.WriteFile(conf, []byte("mynetworks = 127.0.0.0/8 0.0.0.0/0\n"), 0o644)
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"probe", "--from-postconf", conf, "--host-networks", "127.0.0.0/8"}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) || !strings.Contains(stdout.String(), conf+":1: mynetworks: 0.0.0.0/0") {
		t.Errorf("lint: %v\n%s", err, stdout.String())
	}
	err = runCLI(t, []string{"probe", "--from-postconf", "../../testdata/probe/postconf-debian.txt", "--host-networks", "127.0.0.0/8"}, &stdout, &stderr)
	if err != nil {
		t.Errorf("lint of Debian's defaults: %v\n%s", err, stdout.String())
	}
}
