package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// testConfig probes s with short timeouts and no delay.
func testConfig(s *fakeServer) Config {
	return Config{
		Host:        "127.0.0.1",
		Port:        s.Port,
		HeloName:    "probe.test.example",
		LocalDomain: "test.example",
		Timeout:     5 * time.Second,
	}
}

func isPercent(c CaseResult) bool { return strings.Contains(c.Recipient, "%") }

func TestRunVerdicts(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*fakeServer)
		want      func(CaseResult) (Verdict, string) // verdict and stage
		conns     int                                // connections the probe should open; 0 means 1
	}{
		{"closed", nil, func(CaseResult) (Verdict, string) { return Refused, "RCPT" }, 0},
		{"open", func(s *fakeServer) { s.rcpt = func(string) string { return "250 2.1.5 Ok" } },
			func(CaseResult) (Verdict, string) { return Accepted, "RCPT" }, 0},
		{"tempfail", func(s *fakeServer) { s.rcpt = func(string) string { return "454 4.7.1 Relay access denied" } },
			func(CaseResult) (Verdict, string) { return TempRefused, "RCPT" }, 0},
		{"auth required", func(s *fakeServer) { s.mail = func(string) string { return "530 5.7.0 Authentication required" } },
			func(CaseResult) (Verdict, string) { return AuthRequired, "MAIL" }, 0},
		// Every sender refused: no recipient was sent, so no case was
		// tested (issue 20, item 1).
		{"sender refused", func(s *fakeServer) { s.mail = func(string) string { return "553 5.1.8 Sender address rejected" } },
			func(CaseResult) (Verdict, string) { return NotTested, "MAIL" }, 0},
		{"percent hack", func(s *fakeServer) {
			s.rcpt = func(a string) string {
				if strings.Contains(a, "%") {
					return "250 2.1.5 Ok"
				}
				return closedRcpt(a)
			}
		}, func(c CaseResult) (Verdict, string) {
			if isPercent(c) {
				return Accepted, "RCPT"
			}
			return Refused, "RCPT"
		}, 0},
		{"helo only", func(s *fakeServer) { s.noEHLO = true },
			func(CaseResult) (Verdict, string) { return Refused, "RCPT" }, 0},
		{"closes after RCPT", func(s *fakeServer) { s.dropRcpt = true },
			func(CaseResult) (Verdict, string) { return Refused, "RCPT" }, len(caseTable)},
		{"421 at RCPT", func(s *fakeServer) { s.rcpt = func(string) string { return "421 4.7.0 Too many errors" } },
			func(CaseResult) (Verdict, string) { return TempRefused, "RCPT" }, len(caseTable)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.configure)
			var tr bytes.Buffer
			res, err := Run(t.Context(), testConfig(srv), &tr)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, tr.String())
			}
			if len(res.Cases) != len(caseTable) {
				t.Fatalf("Run ran %d cases, want %d", len(res.Cases), len(caseTable))
			}
			open := false
			for _, c := range res.Cases {
				verdict, stage := tt.want(c)
				if c.Verdict != verdict || c.Stage != stage {
					t.Errorf("case %s: verdict %q at %s (%d %q, error %q), want %q at %s",
						c.Name, c.Verdict, c.Stage, c.Code, c.Text, c.Error, verdict, stage)
				}
				open = open || verdict == Accepted
			}
			if res.Open() != open || res.Summary.Open != open {
				t.Errorf("Open() = %v, Summary.Open = %v, want %v", res.Open(), res.Summary.Open, open)
			}
			verbs := srv.verbs()
			if slices.Contains(verbs, "DATA") {
				t.Errorf("DATA sent without SendTo: %v", verbs)
			}
			wantConns := max(tt.conns, 1)
			if got := srv.connections(); got != wantConns {
				t.Errorf("probe opened %d connections, want %d", got, wantConns)
			}
			if tt.conns == 0 && verbs[len(verbs)-1] != "QUIT" {
				t.Errorf("last command %s, want QUIT", verbs[len(verbs)-1])
			}
			if tt.name == "helo only" && !slices.Contains(verbs, "HELO") {
				t.Errorf("no HELO after EHLO was refused: %v", verbs)
			}
		})
	}
}

func TestRunResultFields(t *testing.T) {
	srv := startServer(t, nil)
	before := time.Now().UTC()
	res, err := Run(t.Context(), testConfig(srv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerName != localDomain || res.ServerIP.String() != "127.0.0.1" || res.Port != srv.Port {
		t.Errorf("server %q %v:%d, want %s 127.0.0.1:%d", res.ServerName, res.ServerIP, res.Port, localDomain, srv.Port)
	}
	if !res.ClientIP.IsLoopback() || res.ClientPort == 0 || res.HeloName != "probe.test.example" {
		t.Errorf("client %v:%d helo %q", res.ClientIP, res.ClientPort, res.HeloName)
	}
	if res.Start.Before(before.Add(-time.Second)) || res.End.Before(res.Start) || res.Start.Location() != time.UTC {
		t.Errorf("Start %v End %v", res.Start, res.End)
	}
	srv.mu.Lock()
	cmds := slices.Clone(srv.cmds)
	srv.mu.Unlock()
	for _, c := range res.Cases {
		if c.Time.Location() != time.UTC || c.ClientIP != res.ClientIP || c.ClientPort != res.ClientPort {
			t.Errorf("case %s: time %v client %v:%d", c.Name, c.Time, c.ClientIP, c.ClientPort)
		}
		// Sender and recipient are exactly what the server received.
		if !slices.Contains(cmds, "MAIL FROM:<"+c.Sender+">") || !slices.Contains(cmds, "RCPT TO:<"+c.Recipient+">") {
			t.Errorf("case %s: <%s> -> <%s> not among the commands received", c.Name, c.Sender, c.Recipient)
		}
		if c.Code != 550 || c.Text != "5.7.1 Relaying denied to external recipients" {
			t.Errorf("case %s: reply %d %q", c.Name, c.Code, c.Text)
		}
	}
	if res.Summary != (Summary{Cases: len(caseTable), Refused: len(caseTable)}) {
		t.Errorf("Summary = %+v", res.Summary)
	}
}

func TestRunSendTo(t *testing.T) {
	t.Run("open", func(t *testing.T) {
		srv := startServer(t, func(s *fakeServer) { s.rcpt = func(string) string { return "250 2.1.5 Ok" } })
		cfg := testConfig(srv)
		cfg.Cases = []string{"local-sender"}
		cfg.SendTo = "admin@elsewhere.test.example"
		res, err := Run(t.Context(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Cases) != 2 || res.Cases[1].Name != sendToCase {
			t.Fatalf("cases %+v, want local-sender and send-to", res.Cases)
		}
		sc := res.Cases[1]
		if sc.Recipient != cfg.SendTo || sc.Stage != "DATA" || sc.Verdict != Accepted || sc.Code != 250 {
			t.Errorf("send-to case = %+v", sc)
		}
		if n := strings.Count(strings.Join(srv.verbs(), " "), "DATA"); n != 1 {
			t.Errorf("DATA sent %d times, want 1", n)
		}
		msgs := srv.messages()
		if len(msgs) != 1 || res.Token == "" {
			t.Fatalf("messages %q, token %q", msgs, res.Token)
		}
		msg := msgs[0]
		for _, h := range []string{
			"Subject: relaysleuth open relay test " + res.Token + "\r\n",
			"Message-ID: <relaysleuth." + res.Token + "@test.example>\r\n",
			"To: <admin@elsewhere.test.example>\r\n",
		} {
			if !strings.Contains(msg, h) {
				t.Errorf("message lacks %q:\n%s", h, msg)
			}
		}
	})
	t.Run("closed", func(t *testing.T) {
		srv := startServer(t, nil)
		cfg := testConfig(srv)
		cfg.Cases = []string{"bang"}
		cfg.SendTo = "admin@elsewhere.test.example"
		res, err := Run(t.Context(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(srv.verbs(), "DATA") {
			t.Errorf("DATA sent after RCPT was refused")
		}
		if len(res.Cases) != 2 || res.Cases[1].Verdict != Refused || res.Cases[1].Stage != "RCPT" {
			t.Errorf("cases %+v", res.Cases)
		}
	})
}

func TestRunStartTLS(t *testing.T) {
	cert := selfSigned(t)
	tlsServer := func(s *fakeServer) { s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}} }

	t.Run("offered", func(t *testing.T) {
		srv := startServer(t, tlsServer)
		var tr bytes.Buffer
		res, err := Run(t.Context(), testConfig(srv), &tr)
		if err != nil {
			t.Fatal(err)
		}
		if res.TLS == "" || !strings.Contains(tr.String(), "C: STARTTLS\n") {
			t.Errorf("TLS %q; transcript:\n%s", res.TLS, tr.String())
		}
		verbs := srv.verbs()
		// Everything after STARTTLS (the second EHLO, the cases, QUIT) came over TLS.
		if i := slices.Index(verbs, "STARTTLS"); i < 0 || srv.overTLS() != len(verbs)-i-1 {
			t.Errorf("%d of %d commands over TLS: %v", srv.overTLS(), len(verbs), verbs)
		}
		if res.Summary.Refused != len(caseTable) {
			t.Errorf("Summary = %+v", res.Summary)
		}
	})
	t.Run("no-tls", func(t *testing.T) {
		srv := startServer(t, tlsServer)
		cfg := testConfig(srv)
		cfg.NoTLS = true
		res, err := Run(t.Context(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.TLS != "" || slices.Contains(srv.verbs(), "STARTTLS") || srv.overTLS() != 0 {
			t.Errorf("TLS %q with NoTLS; commands %v", res.TLS, srv.verbs())
		}
	})
	t.Run("broken handshake", func(t *testing.T) {
		srv := startServer(t, func(s *fakeServer) { tlsServer(s); s.tlsBreak = true })
		var tr bytes.Buffer
		res, err := Run(t.Context(), testConfig(srv), &tr)
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, tr.String())
		}
		if res.TLS != "" || res.Summary.Refused != len(caseTable) || srv.connections() != 2 {
			t.Errorf("TLS %q, %+v, %d connections; transcript:\n%s", res.TLS, res.Summary, srv.connections(), tr.String())
		}
		if !strings.Contains(tr.String(), "connecting again without TLS") {
			t.Errorf("transcript does not say why it reconnected:\n%s", tr.String())
		}
	})
}

// hostile servers that spoil the greeting.
func TestRunHostileGreeting(t *testing.T) {
	tests := []struct {
		name string
		raw  func(c net.Conn)
		want error
	}{
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }, os.ErrDeadlineExceeded},
		{"endless line", func(c net.Conn) {
			io.WriteString(c, "220 ")
			chunk := strings.Repeat("A", 1024)
			for {
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}, ErrTooLong},
		{"endless reply", func(c net.Conn) {
			for {
				if _, err := io.WriteString(c, "220-mx.test.example\r\n"); err != nil {
					return
				}
			}
		}, ErrTooLong},
		{"megabyte lines", func(c net.Conn) {
			io.WriteString(c, "220-"+strings.Repeat("x", 1<<20)+"\r\n")
			io.Copy(io.Discard, c)
		}, ErrTooLong},
		{"drops mid-reply", func(c net.Conn) { io.WriteString(c, "220-mx.test.example\r\n220-more") }, io.ErrUnexpectedEOF},
		{"not SMTP", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n"); io.Copy(io.Discard, c) }, ErrMalformed},
		{"inconsistent", func(c net.Conn) { io.WriteString(c, "220-mx.test.example\r\n250 ok\r\n"); io.Copy(io.Discard, c) }, ErrInconsistent},
		{"refuses", func(c net.Conn) { io.WriteString(c, "554 5.7.1 go away\r\n"); io.Copy(io.Discard, c) }, &ReplyError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, func(s *fakeServer) { s.raw = tt.raw })
			cfg := testConfig(srv)
			cfg.Timeout = 300 * time.Millisecond
			var tr bytes.Buffer
			res, err := Run(t.Context(), cfg, &tr)
			var re *ReplyError
			if _, ok := tt.want.(*ReplyError); ok && !errors.As(err, &re) || !ok && !errors.Is(err, tt.want) {
				t.Fatalf("Run error = %v, want %v", err, tt.want)
			}
			if len(res.Cases) != 0 || res.Open() {
				t.Errorf("cases after a failed greeting: %+v", res.Cases)
			}
			if tr.Len() > 2*DefaultLimits.ReplyBytes {
				t.Errorf("transcript holds %d bytes, more than the reply limit allows", tr.Len())
			}
		})
	}
}

// hostile or broken replies to the cases: each case fails alone.
func TestRunHostileCases(t *testing.T) {
	tests := []struct {
		name  string
		rcpt  func(string) string
		wantE error
	}{
		{"hangs at RCPT", func(string) string { return "" }, os.ErrDeadlineExceeded},
		{"malformed", func(string) string { return "25O 2.1.5 Ok" }, ErrMalformed},
		{"inconsistent", func(string) string { return "250-2.1.5 Ok\r\n550 5.7.1 no" }, ErrInconsistent},
		{"endless", func(string) string { return strings.Repeat("250-more\r\n", 200) + "250 ok" }, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, func(s *fakeServer) { s.rcpt = tt.rcpt })
			cfg := testConfig(srv)
			cfg.Timeout = 300 * time.Millisecond
			cfg.Cases = []string{"local-sender", "bang"}
			res, err := Run(t.Context(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Cases {
				if c.Verdict != Error || c.Stage != "RCPT" || !strings.Contains(c.Error, tt.wantE.Error()) {
					t.Errorf("case %s = %+v, want an error at RCPT", c.Name, c)
				}
			}
			if res.Open() || res.Summary.Errors != 2 {
				t.Errorf("Summary = %+v", res.Summary)
			}
			// Each failed case drops its connection, so the next starts clean.
			if srv.connections() != 2 {
				t.Errorf("%d connections, want 2", srv.connections())
			}
		})
	}
}

func TestRunTranscriptEscapes(t *testing.T) {
	srv := startServer(t, func(s *fakeServer) {
		s.greeting = "220 mx.test.example \x1b[31mred\x1b[0m\a \u202egnp.exe\r\n"
		s.rcpt = func(string) string { return "550 5.7.1 \x1b]0;owned\x07 denied\r" }
	})
	cfg := testConfig(srv)
	cfg.Cases = []string{"null-sender"}
	var tr bytes.Buffer
	res, err := Run(t.Context(), cfg, &tr)
	if err != nil {
		t.Fatal(err)
	}
	out := tr.String()
	for _, want := range []string{
		`S: 220 mx.test.example \x1b[31mred\x1b[0m\x07 \u202egnp.exe`,
		`S: 550 5.7.1 \x1b]0;owned\x07 denied\r`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %s:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\a\r\u202e") {
		t.Errorf("transcript holds raw control characters:\n%q", out)
	}
	if res.Cases[0].Verdict != Refused {
		t.Errorf("verdict %q", res.Cases[0].Verdict)
	}
}

func TestRunNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res, err := Run(t.Context(), Config{Host: "127.0.0.1", Port: port, Timeout: time.Second}, io.Discard)
	if err == nil || res.Open() || len(res.Cases) != 0 {
		t.Errorf("Run against a closed port = %+v, %v", res, err)
	}
}

func TestRunCancel(t *testing.T) {
	srv := startServer(t, nil)
	cfg := testConfig(srv)
	cfg.Delay = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	var tr strings.Builder
	res, err := Run(ctx, cfg, &tr)
	if !errors.Is(err, context.Canceled) || len(res.Cases) != 1 {
		t.Errorf("Run = %d cases, %v; want 1 case and context.Canceled", len(res.Cases), err)
	}
	// The server is told goodbye, and the cases never tried are counted.
	if total := len(Cases(cfg, Target{Name: "test.example"})); res.NotRun != total-1 {
		t.Errorf("NotRun = %d, want %d", res.NotRun, total-1)
	}
	if !strings.Contains(tr.String(), "C: QUIT") || !strings.Contains(tr.String(), "cases not run") {
		t.Errorf("transcript lacks QUIT and the note:\n%s", tr.String())
	}
	var out strings.Builder
	warn(&out, res, nil)
	if !strings.Contains(out.String(), "cases never ran") {
		t.Errorf("warning lacks the cases never run: %q", out.String())
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []Config{
		{},
		{Host: "mx.example.org\r\nRCPT TO:<x@y>"},
		{Host: "mx.example.org", Port: 70000},
		{Host: "mx.example.org", ExternalDomain: "evil.example>\r\nDATA"},
		{Host: "mx.example.org", LocalDomain: "a b"},
		{Host: "mx.example.org", HeloName: "x\ny"},
		{Host: "mx.example.org", SendTo: "nobody"},
		{Host: "mx.example.org", SendTo: "a>b@example.org"},
		{Host: "mx.example.org", Cases: []string{"no-such-case"}},
		{Host: "mx.example.org", Delay: -time.Second},
		{Host: "mx.example.org", Limits: Limits{LineBytes: 1}},
	}
	for _, cfg := range tests {
		if _, err := Run(t.Context(), cfg, io.Discard); !errors.Is(err, ErrConfig) {
			t.Errorf("Run(%+v) error = %v, want ErrConfig", cfg, err)
		}
	}
}
