package pipeline

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// Debian's rsyslog writes every mail line to mail.log, and the warnings
// again to mail.warn. A client refused twice in one second is two lines in
// mail.log (both kept); the failed login is in both files (read once).
const (
	overlapLog = `Jun 12 08:58:30 mx postfix/smtpd[27296]: connect from unknown[192.0.2.4]
Jun 12 08:58:31 mx postfix/smtpd[27296]: warning: unknown[192.0.2.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=dave
Jun 12 08:58:35 mx postfix/smtpd[27296]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<a@spam.example> to=<v@victim.example> proto=ESMTP helo=<spam.example>
Jun 12 08:58:35 mx postfix/smtpd[27296]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 <v@victim.example>: Relay access denied; from=<a@spam.example> to=<v@victim.example> proto=ESMTP helo=<spam.example>
Jun 12 08:58:36 mx postfix/smtpd[27296]: disconnect from unknown[192.0.2.4] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4
`
	overlapWarn = `Jun 12 08:58:31 mx postfix/smtpd[27296]: warning: unknown[192.0.2.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=dave
`
)

// TestOverlappingFiles: a line read from two files of one syslog set is
// one event; lines repeated within a file are not merged (issue 14 item
// 10). Either file may be read first.
func TestOverlappingFiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		warn string
	}{
		{"mail.log first", overlapWarn},
		// mail.warn's first line is older than mail.log's: it is read first.
		{"mail.warn first", "Jun 12 08:50:00 mx postfix/smtpd[1]: warning: hostname x.example does not resolve to address 192.0.2.9\n" + overlapWarn},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := []string{writeFile(t, dir, "mail.log", overlapLog), writeFile(t, dir, "mail.warn", tt.warn)}
			ins, errs := Prepare(t.Context(), paths, Options{Year: 2026, Location: time.UTC}, nil)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			var log bytes.Buffer
			res, store := run(t, dir, ins, &log)
			if res.Stats.Events != 5 {
				t.Errorf("%d events, want the 5 of mail.log\n%s", res.Stats.Events, log.String())
			}
			if !strings.Contains(log.String(), "mail.warn: 1 line also in another file read") {
				t.Errorf("log does not say what was counted once:\n%s", log.String())
			}
			sum, err := store.Summary(t.Context(), analysis.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.AuthFailures != 1 || sum.Verdicts[analysis.RelayAttemptRejected] != 2 {
				t.Errorf("failed logins %d, refusals %d; want 1 and 2", sum.AuthFailures, sum.Verdicts[analysis.RelayAttemptRejected])
			}
		})
	}
}

// TestNoOverlapAlone: mail.warn read without another file of its set is
// read whole, and files of different sets are never compared.
func TestNoOverlapAlone(t *testing.T) {
	dir := t.TempDir()
	paths := []string{writeFile(t, dir, "a/mail.log", overlapLog), writeFile(t, dir, "b/mail.warn", overlapWarn)}
	ins, errs := Prepare(t.Context(), paths, Options{Year: 2026, Location: time.UTC}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var log bytes.Buffer
	res, _ := run(t, dir, ins, &log)
	if res.Stats.Events != 6 || strings.Contains(log.String(), "also in another file") {
		t.Errorf("%d events, want 6 (two servers' files)\n%s", res.Stats.Events, log.String())
	}
	for _, tt := range []struct {
		path, set string
		priority  bool
	}{
		{"/var/log/mail.log", "/var/log/mail", false},
		{"/var/log/mail.log.2.gz", "/var/log/mail", false},
		{"/var/log/mail.warn.1", "/var/log/mail", true},
		{"/var/log/mail.err-20240107.gz", "/var/log/mail", true},
		{"/var/log/exim4/mainlog", "", false},
		{"/var/log/maillog", "", false},
	} {
		if set, priority := overlapSet(tt.path); set != filepath.FromSlash(tt.set) || priority != tt.priority {
			t.Errorf("overlapSet(%q) = %q, %v; want %q, %v", tt.path, set, priority, tt.set, tt.priority)
		}
	}
}

// run ingests ins into a new store in dir.
func run(t *testing.T, dir string, ins []*Input, log *bytes.Buffer) (Result, *schema.Store) {
	t.Helper()
	store, err := schema.Open(t.Context(), filepath.Join(dir, "rs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var p analysis.Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	ing := &Ingest{Store: store, Policy: p, Options: Options{Year: 2026, Location: time.UTC}, Log: log}
	res, err := ing.Run(t.Context(), ins)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return res, store
}
