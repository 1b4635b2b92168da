package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// TestInvestigateMalformedComplaints: a broken report gives a partial
// answer (with its warnings shown) or an error that names the file and
// says why, never a crash.
func TestInvestigateMalformedComplaints(t *testing.T) {
	db := scanDev(t)
	// The feedback fields of the Postfix open-relay report
	// (arf-open-relay.eml), around a broken attached message.
	feedback := "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\n" +
		"Feedback-Type: abuse\nOriginal-Mail-From: <imueller@victim.example>\nOriginal-Rcpt-To: <ines9124@victim.example>\n" +
		"Arrival-Date: Fri, 27 Nov 2026 19:28:56 +0000\n\n"
	tests := []struct {
		name, in string
		wantErr  error  // nil: a partial answer that finds the message
		found    string // its entry queue id
		warning  string // shown in the table
	}{
		{
			name:    "attached message in bad base64",
			in:      feedback + "--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!* not base64 *!!!\n--b--\n",
			found:   "86A97BC369",
			warning: "message/rfc822 part holds no headers",
		},
		{
			name:    "attached message missing, no closing boundary",
			in:      strings.TrimSuffix(feedback, "\n"),
			found:   "86A97BC369",
			warning: "bad MIME part",
		},
		{
			name:    "bad Source-IP and Arrival-Date",
			in:      strings.Replace(feedback, "Arrival-Date: Fri, 27 Nov 2026 19:28:56 +0000", "Arrival-Date: yesterday\nSource-IP: 192.0.2.", 1) + "--b--\n",
			found:   "86A97BC369",
			warning: `bad Source-IP "192.0.2."`,
		},
		{
			name:    "non-UTF-8 headers",
			in:      "Message-ID: <20261127192855.a1a1db21da.75@victim.example>\nFrom: Ingrid M\xfcller <imueller@victim.example>\nSubject: caf\xe9\nthis line is not a header \xff\n\nbody",
			found:   "86A97BC369",
			warning: "malformed header block",
		},
		{
			name:    "huge header",
			in:      "Message-ID: <20261127192855.a1a1db21da.75@victim.example>\nSubject: " + strings.Repeat("A", analysis.MaxComplaintBytes) + "\n\n",
			found:   "86A97BC369",
			warning: "complaint cut at",
		},
		{
			name:    "UTF-16",
			in:      utf16LE("Message-ID: <20261127192855.a1a1db21da.75@victim.example>\r\n\r\n"),
			found:   "86A97BC369",
			warning: "UTF-16",
		},
		{name: "binary", in: "\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", wantErr: analysis.ErrNotComplaint},
		{name: "empty", in: "", wantErr: analysis.ErrNotComplaint},
		{name: "no usable key", in: "Subject: hello\nX-Mailer: x\n\nbody\n", wantErr: analysis.ErrNoKeys},
		{
			name:    "report whose only message is unreadable",
			in:      "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!\n--b--\n",
			wantErr: analysis.ErrNoKeys,
		},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".eml")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := investigate(t, db, "--format", "json", path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("test %d: err = %v, want %v naming %s", i, err, tt.wantErr, path)
				}
				return
			}
			if err != nil {
				t.Fatalf("investigate: %v\n%s", err, out)
			}
			var inv analysis.Investigation
			if err := json.Unmarshal([]byte(out), &inv); err != nil {
				t.Fatalf("bad JSON: %v", err)
			}
			if len(inv.Incidents) != 1 || inv.Incidents[0].Cause.QueueID != tt.found {
				t.Errorf("incidents %+v, want the one entering as %s; keys %+v", inv.Incidents, tt.found, inv.Keys)
			}
			table, err := investigate(t, db, path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table, "warning") || !strings.Contains(table, tt.warning) {
				t.Errorf("table lacks the warning %q:\n%.3000s", tt.warning, table)
			}
		})
	}
}

// utf16LE encodes ASCII s as UTF-16 little-endian with a byte order mark,
// as Notepad saves it.
func utf16LE(s string) string {
	b := []byte{0xff, 0xfe}
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}
