package analysis

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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
	{
		name:      "UTF-16 with a byte order mark",
		in:        "\xff\xfeM\x00e\x00s\x00s\x00a\x00g\x00e\x00-\x00I\x00D\x00:\x00 \x00<\x00u\x00@\x00x\x00>\x00\n\x00\n\x00",
		kind:      ComplaintHeaders,
		messageID: "u@x",
		warn:      true,
	},
	{
		name:      "UTF-8 byte order mark",
		in:        "\xef\xbb\xbfMessage-ID: <bom@x>\n\nbody\n",
		kind:      ComplaintMessage,
		messageID: "bom@x",
	},
	{
		name: "truncated ARF: feedback fields kept, bad ones noted",
		in: "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\n" +
			"Original-Rcpt-To: <v@victim.example>\nSource-IP: 192.0.2.\nArrival-Date: yesterday\n--b\nContent-Type: message/rfc822\n\nMessage-ID: <trunc",
		kind:      ComplaintARF,
		messageID: "trunc",
		rcptTo:    []string{"v@victim.example"},
		warn:      true,
	},
	{
		name: "attached message in bad base64",
		in: "Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\nContent-Type: message/feedback-report\n\nSource-IP: 192.0.2.3\n" +
			"--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!* not base64 *!!!\n--b--\n",
		kind:     ComplaintARF,
		sourceIP: "192.0.2.3",
		warn:     true,
	},
	{
		name:      "nested past the depth limit",
		in:        strings.Repeat("Message-ID: <deep@x>\nContent-Type: message/rfc822\n\n", 200) + "Message-ID: <inner@x>\n\n",
		kind:      ComplaintMessage,
		messageID: "deep@x",
		warn:      true,
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

// Huge and hostile complaints are read in bounded time and space, with
// bounded warnings, and still give what they hold.
func TestReadComplaintLimits(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "Received: from x%d (unknown [192.0.2.%d]) by mail with ESMTP id Q%d\n", i, i%250, i)
	}
	b.WriteString("Subject: " + strings.Repeat("A", 1<<20) + "\nMessage-ID: <many@x>\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=a\n\n")
	for range 500 {
		b.WriteString("--a\nContent-Type: multipart/mixed; boundary=a\n\nbad \xff\xfe part " + strings.Repeat("\x01", 500) + "\n")
	}
	c, err := ReadComplaint(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if c.MessageID != "many@x" || len(c.Received) != maxReceived || c.Received[0].ID != "Q0" {
		t.Errorf("message-id %q, %d Received headers (first %+v), want many@x, the first %d", c.MessageID, len(c.Received), c.Received[0], maxReceived)
	}
	if len(c.Warnings) == 0 || len(c.Warnings) > maxWarnings {
		t.Errorf("%d warnings, want 1..%d: %q", len(c.Warnings), maxWarnings, c.Warnings)
	}
	for _, w := range c.Warnings {
		if len(w) > maxWarningBytes+len("…") || !utf8.ValidString(w) {
			t.Errorf("warning not bounded or not UTF-8: %q", w)
		}
	}

	// Beyond MaxComplaintBytes the rest is cut, with a warning.
	big := "Message-ID: <big@x>\nSubject: " + strings.Repeat("B", MaxComplaintBytes) + "\n\n"
	c, err = ReadComplaint(strings.NewReader(big))
	if err != nil || c.MessageID != "big@x" || len(c.Warnings) == 0 {
		t.Errorf("huge header: %v, message-id %q, warnings %q", err, c.MessageID, c.Warnings)
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
				With: "ESMTP", ID: "4B49DBC34B", For: []string{"u@corp.example"}, Time: time.Date(2026, 11, 27, 19, 27, 54, 0, time.UTC)},
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
			Received{Helo: "EXCH01.corp.example", ClientIP: netip.MustParseAddr("10.0.0.5"), By: "EXCH02.corp.example", With: "Microsoft SMTP Server",
				Time: time.Date(2026, 11, 27, 19, 27, 54, 0, time.UTC)},
		},
		{
			// Exim with a reverse name, TLS, and the HELO in the comment.
			"from mail.outside.example ([127.3.180.178] helo=desktop-7a37)\n\tby mail.corp.example with esmtpsa  (TLS1.3) tls TLS_AES_256_GCM_SHA384\n\t(Exim 4.96)\n\t(envelope-from <dave@corp.example>)\n\tid 1xX1kT-0007kZ-2x\n\tfor kofi.smith@victim.example;\n\tFri, 27 Nov 2026 19:36:45 +0000",
			Received{Helo: "desktop-7a37", ClientName: "mail.outside.example", ClientIP: netip.MustParseAddr("127.3.180.178"), By: "mail.corp.example",
				With: "esmtpsa", ID: "1xX1kT-0007kZ-2x", For: []string{"kofi.smith@victim.example"}, Time: time.Date(2026, 11, 27, 19, 36, 45, 0, time.UTC)},
		},
		{
			// Exchange Front End, TLS, local time zone.
			"from ylmf-pc (203.0.113.66) by exsrv2.nwtraders.example (172.16.4.11) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.1.2507.44 via Frontend Transport; Thu, 6 Feb 2025 09:37:53 -0500",
			Received{Helo: "ylmf-pc", ClientIP: netip.MustParseAddr("203.0.113.66"), By: "exsrv2.nwtraders.example", With: "Microsoft SMTP Server",
				Time: time.Date(2025, 2, 6, 14, 37, 53, 0, time.UTC)},
		},
		{
			// The server's own address after "by" is not the client's.
			"from localhost by EXSRV2.nwtraders.example (172.16.4.10) with mapi id 15.01.2507.044; Thu, 6 Feb 2025 14:15:33 +0000",
			Received{Helo: "localhost", By: "EXSRV2.nwtraders.example", With: "mapi", Time: time.Date(2025, 2, 6, 14, 15, 33, 0, time.UTC)},
		},
		{"((((", Received{}},
		{"", Received{}},
	}
	for _, tt := range tests {
		if got := ParseReceived(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseReceived(%q)\n = %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzComplaint(f *testing.F) {
	for _, tt := range complaintTests {
		f.Add([]byte(tt.in))
	}
	for _, tt := range kindTests {
		f.Add([]byte(tt.in))
	}
	files, _ := filepath.Glob("../testdata/investigate/*")
	more, _ := filepath.Glob("../testdata/investigate/*/*")
	files = append(files, more...)
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
