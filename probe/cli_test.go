package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// command runs Command as a user would, with fast timing flags first.
func command(t *testing.T, args ...string) (open bool, stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--delay", "0s", "--timeout", "2s", "--helo", "probe.test.example"}, args...)
	open, err = Command(t.Context(), args, &out, &errOut)
	return open, out.String(), errOut.String(), err
}

// testMarkerRE matches the run and case marker the probe puts in its local
// parts ("relaytest-k3f9a1c2-05a@…").
var testMarkerRE = regexp.MustCompile(`-[a-z2-7]{8}-\d\d[a-z]`)

// unmarked is s without the probe's markers.
func unmarked(s string) string { return testMarkerRE.ReplaceAllString(s, "") }

func TestCommandClosed(t *testing.T) {
	srv := startServer(t, nil)
	open, stdout, stderr, err := command(t, "--port", strconv.Itoa(srv.Port), "--from-domain", "test.example", "127.0.0.1")
	if err != nil || open {
		t.Fatalf("Command = %v, %v; stderr:\n%s", open, err, stderr)
	}
	for _, want := range []string{
		"C: RCPT TO:<relaytest@relaytest.invalid>\n",
		"S: 550 5.7.1 Relaying denied to external recipients\n",
		"CASE ", "percent-name", "<relaytest%relaytest.invalid@mx.test.example>",
		"mx.test.example 127.0.0.1:" + strconv.Itoa(srv.Port) + ": no case accepted (18 refused,",
	} {
		if !strings.Contains(unmarked(stdout), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "C: RCPT TO:<relaytest-") || !testMarkerRE.MatchString(stdout) {
		t.Errorf("stdout lacks the marked addresses:\n%s", stdout)
	}
	if !strings.Contains(stderr, "warning: the probe ran on the server itself (127.0.0.1)") {
		t.Errorf("no loopback warning on stderr:\n%s", stderr)
	}
}

func TestCommandOpen(t *testing.T) {
	srv := startServer(t, func(s *fakeServer) {
		s.rcpt = func(a string) string {
			if strings.Contains(a, "!") {
				return "250 2.1.5 Ok"
			}
			return closedRcpt(a)
		}
	})
	// HOST:PORT, flags after the host, --case both repeated and listed.
	open, stdout, stderr, err := command(t, "127.0.0.1:"+strconv.Itoa(srv.Port), "--case", "bang,bang-ip", "--case", "null-sender")
	if err != nil || !open {
		t.Fatalf("Command = %v, %v; stderr:\n%s", open, err, stderr)
	}
	if !strings.Contains(stdout, "OPEN RELAY: mx.test.example 127.0.0.1:"+strconv.Itoa(srv.Port)+" accepted 2 of 3 cases: bang, bang-ip\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestCommandJSON(t *testing.T) {
	srv := startServer(t, nil)
	open, stdout, stderr, err := command(t, "--format", "json", "--port", strconv.Itoa(srv.Port),
		"--trusted-networks", "192.0.2.0/24, 127.0.0.0/8", "--case", "percent-ip", "127.0.0.1")
	if err != nil || open {
		t.Fatalf("Command = %v, %v", open, err)
	}
	var res Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not a Result: %v\n%s", err, stdout)
	}
	if len(res.Cases) != 1 || res.Cases[0].Recipient != "relaytest-"+res.Run+"-06a%relaytest.invalid@[127.0.0.1]" || res.Cases[0].Marker != res.Run+"-06a" || res.Cases[0].Verdict != Refused {
		t.Errorf("cases = %+v", res.Cases)
	}
	var raw map[string]any
	json.Unmarshal([]byte(stdout), &raw)
	for _, k := range []string{"server_ip", "client_ip", "client_port", "start", "cases", "summary"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if !strings.HasSuffix(raw["start"].(string), "Z") {
		t.Errorf("start %v is not UTC", raw["start"])
	}
	if !strings.Contains(stderr, "C: MAIL FROM:") || !strings.Contains(stderr, "inside the server's trusted networks") {
		t.Errorf("stderr lacks the transcript or the trusted-network warning:\n%s", stderr)
	}
}

func TestCommandNoUsableReply(t *testing.T) {
	srv := startServer(t, func(s *fakeServer) { s.rcpt = func(string) string { return "" } })
	open, _, _, err := command(t, "--timeout", "200ms", "--case", "bang", "--port", strconv.Itoa(srv.Port), "127.0.0.1")
	if err == nil || open || errors.Is(err, ErrUsage) {
		t.Errorf("Command against a silent server = %v, %v; want a non-usage error", open, err)
	}
}

func TestCommandUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	open, _, _, err := command(t, addr)
	if err == nil || open || errors.Is(err, ErrUsage) {
		t.Errorf("Command against a closed port = %v, %v; want a non-usage error", open, err)
	}
}

func TestCommandUsage(t *testing.T) {
	tests := [][]string{
		{},
		{"a.example", "b.example"},
		{"--format", "xml", "127.0.0.1"},
		{"--case", "nope", "127.0.0.1"},
		{"--port", "2525", "127.0.0.1:25"},
		{"127.0.0.1:99999"},
		{"--trusted-networks", "10.0.0.0/33", "127.0.0.1"},
		{"--bogus", "127.0.0.1"},
		{"--send-to", "not-an-address", "127.0.0.1"},
		{"--external-domain", "a b", "127.0.0.1"},
	}
	for _, args := range tests {
		open, _, _, err := command(t, args...)
		if !errors.Is(err, ErrUsage) || open {
			t.Errorf("Command(%q) = %v, %v; want ErrUsage", args, open, err)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	open, stdout, _, err := command(t, "-help")
	if !errors.Is(err, flag.ErrHelp) || open {
		t.Fatalf("Command(-help) = %v, %v", open, err)
	}
	for _, want := range []string{"never sends DATA", "--send-to", "Exit status: 0", "percent-ip", "-trusted-networks"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		arg      string
		port     int
		portSet  bool
		wantHost string
		wantPort int
	}{
		{"mx.example.org", 25, false, "mx.example.org", 25},
		{"mx.example.org", 587, true, "mx.example.org", 587},
		{"mx.example.org:2525", 25, false, "mx.example.org", 2525},
		{"mx.example.org:587", 587, true, "mx.example.org", 587},
		{"2001:db8::25", 25, false, "2001:db8::25", 25},
		{"[2001:db8::25]", 25, false, "2001:db8::25", 25},
		{"[2001:db8::25]:587", 25, false, "2001:db8::25", 587},
	}
	for _, tt := range tests {
		host, port, err := splitTarget(tt.arg, tt.port, tt.portSet)
		if err != nil || host != tt.wantHost || port != tt.wantPort {
			t.Errorf("splitTarget(%q, %d, %v) = %q, %d, %v", tt.arg, tt.port, tt.portSet, host, port, err)
		}
	}
}
