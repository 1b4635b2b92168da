package analysis

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var complaintTests = []struct {
	name, in  string
	kind      string
	messageID string
	sourceIP  string
	rcptTo    []string
	queueIDs  []string // of the Received headers, newest first
	warn      bool     // some part could not be read
	wantErr   error
}{
	{
		name:      "plain message",
		in:        "Received: from x (unknown [192.0.2.9]) by mail.corp.example (Postfix) with ESMTP id 4B49DBC34B for <u@corp.example>; Fri, 27 Nov 2026 19:27:54 +0000\r\nMessage-ID: <a@b>\r\nFrom: s@x.example\r\n\r\nbody\r\n",
		kind:      ComplaintMessage,
		messageID: "a@b",
		queueIDs:  []string{"4B49DBC34B"},
	},
	{
		name:      "headers only, no blank line",
		in:        "Message-ID: <h@x>\nSubject: hi",
		kind:      ComplaintHeaders,
		messageID: "h@x",
	},
	{
		name: "ARF",
		in: "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\n" +
			"Feedback-Type: abuse\nOriginal-Rcpt-To: <V@Victim.example>\nOriginal-Rcpt-To: w@victim.example\nSource-IP: [IPv6:2001:db8::9]\n\n" +
			"--b\nContent-Type: message/rfc822\n\nMessage-ID: <spam@x>\n\nbody\n--b--\n",
		kind:      ComplaintARF,
		messageID: "spam@x",
		sourceIP:  "2001:db8::9",
		rcptTo:    []string{"v@victim.example", "w@victim.example"},
	},
	{
		name: "ARF with base64 message",
		in: "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\nSource-IP: 192.0.2.1\n" +
			"--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nTWVzc2FnZS1JRDogPGI2NEB4Pg0KDQpoaQ0K\n--b--\n",
		kind:      ComplaintARF,
		messageID: "b64@x",
		sourceIP:  "192.0.2.1",
	},
	{
		name:      "missing parts",
		in:        "Message-ID: <outer@x>\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\nno parts at all\n",
		kind:      ComplaintMessage,
		messageID: "outer@x",
		warn:      true,
	},
	{
		name:      "bad content type",
		in:        "Message-ID: <ct@x>\nContent-Type: multipart/mixed; boundary=\"unterminated\n\nx\n",
		kind:      ComplaintMessage,
		messageID: "ct@x",
		warn:      true,
	},
	{
		name:      "malformed header line, non-UTF-8",
		in:        "Message-ID: <m@x>\nthis is not a header\nSubject: caf\xe9\n\nbody",
		kind:      ComplaintMessage,
		messageID: "m@x",
		warn:      true,
	},
	{
		name:      "stray angle bracket (fuzz)",
		in:        "Message-ID: <a<b>\n\n",
		kind:      ComplaintHeaders,
		messageID: "ab",
	},
	{name: "not a message", in: "\n\njust text, no header\n", wantErr: ErrNotComplaint},
	{name: "empty", in: "", wantErr: ErrNotComplaint},
}

func TestReadComplaint(t *testing.T) {
	for _, tt := range complaintTests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadComplaint(strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadComplaint = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Kind != tt.kind || c.MessageID != tt.messageID {
				t.Errorf("kind %q message-id %q, want %q %q", c.Kind, c.MessageID, tt.kind, tt.messageID)
			}
			if tt.sourceIP != "" && c.SourceIP != netip.MustParseAddr(tt.sourceIP) {
				t.Errorf("Source-IP %v, want %s", c.SourceIP, tt.sourceIP)
			}
			if !slices.Equal(c.OriginalRcptTo, tt.rcptTo) {
				t.Errorf("Original-Rcpt-To %v, want %v", c.OriginalRcptTo, tt.rcptTo)
			}
			var ids []string
			for _, r := range c.Received {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tt.queueIDs) {
				t.Errorf("Received ids %v, want %v", ids, tt.queueIDs)
			}
			if (len(c.Warnings) > 0) != tt.warn {
				t.Errorf("warnings %q, want some: %v", c.Warnings, tt.warn)
			}
		})
	}
}

func TestReadComplaintSamples(t *testing.T) {
	tests := []struct {
		file, kind, messageID string
		arrival               time.Time
	}{
		{"arf-open-relay.eml", ComplaintARF, "20261127192855.a1a1db21da.75@victim.example", time.Date(2026, 11, 27, 19, 28, 56, 0, time.UTC)},
		{"forwarded-arf-auth.eml", ComplaintARF, "20261127192806.29baf8b5a4.50@corp.example", time.Date(2026, 11, 27, 19, 28, 15, 0, time.UTC)},
		{"headers-only.txt", ComplaintHeaders, "", time.Time{}},
		{"spam-sample.eml", ComplaintMessage, "20261127192848.2469525290.65@victim.example", time.Time{}},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join("../testdata/investigate", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ReadComplaint(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if c.Kind != tt.kind || c.MessageID != tt.messageID || !c.ArrivalDate.Equal(tt.arrival) {
			t.Errorf("%s: kind %s message-id %q arrival %v, want %s %q %v", tt.file, c.Kind, c.MessageID, c.ArrivalDate, tt.kind, tt.messageID, tt.arrival)
		}
	}
}

func TestParseReceived(t *testing.T) {
	tests := []struct {
		in   string
		want Received
	}{
		{
			"from helo.example (rdns.example [192.0.2.9]) by mail.corp.example (Postfix) with ESMTP id 4B49DBC34B for <U@corp.example>; Fri, 27 Nov 2026 19:27:54 +0000 (UTC)",
			Received{Helo: "helo.example", ClientName: "rdns.example", ClientIP: netip.MustParseAddr("192.0.2.9"), By: "mail.corp.example",
				With: "ESMTP", ID: "4B49DBC34B", For: "u@corp.example", Time: time.Date(2026, 11, 27, 19, 27, 54, 0, time.UTC)},
		},
		{
			"from x (unknown [192.0.2.7]) (Authenticated sender: alice) by mail.corp.example (Postfix) with ESMTPSA id 1A2B3C",
			Received{Helo: "x", ClientIP: netip.MustParseAddr("192.0.2.7"), AuthUser: "alice", By: "mail.corp.example", With: "ESMTPSA", ID: "1A2B3C"},
		},
		{
			"from [203.0.113.5] (helo=spam.example) by mx.exim.example with esmtp (Exim 4.96) (envelope-from <a@b>) id 1rAbCd-000123-Xy; Fri, 27 Nov 2026 10:00:00 +0100",
			Received{Helo: "spam.example", ClientIP: netip.MustParseAddr("203.0.113.5"), By: "mx.exim.example", With: "esmtp", ID: "1rAbCd-000123-Xy",
				Time: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)},
		},
		{
			"from EXCH01.corp.example (10.0.0.5) by EXCH02.corp.example (10.0.0.6) with Microsoft SMTP Server id 15.2.1118.40; Fri, 27 Nov 2026 19:27:54 +0000",
			Received{Helo: "EXCH01.corp.example", ClientIP: netip.MustParseAddr("10.0.0.5"), By: "EXCH02.corp.example", With: "Microsoft", ID: "15.2.1118.40",
				Time: time.Date(2026, 11, 27, 19, 27, 54, 0, time.UTC)},
		},
		{"((((", Received{}},
		{"", Received{}},
	}
	for _, tt := range tests {
		if got := ParseReceived(tt.in); got != tt.want {
			t.Errorf("ParseReceived(%q)\n = %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzComplaint(f *testing.F) {
	for _, tt := range complaintTests {
		f.Add([]byte(tt.in))
	}
	files, _ := filepath.Glob("../testdata/investigate/*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadComplaint(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrNotComplaint) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			return
		}
		if c == nil || c.Kind == "" {
			t.Fatalf("complaint without a kind: %+v", c)
		}
		if strings.ContainsAny(c.MessageID, "<>") {
			t.Fatalf("message-id keeps its brackets: %q", c.MessageID)
		}
		if len(c.Warnings) > 20 {
			t.Fatalf("%d warnings: unbounded", len(c.Warnings))
		}
	})
}
