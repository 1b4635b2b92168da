package analysis

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var dateTests = []struct {
	in   string
	want time.Time
	err  error
}{
	// RFC 5965's own example: EDT is four hours behind UTC, not UTC.
	{"Thu, 8 Mar 2005 14:00:00 EDT", time.Date(2005, 3, 8, 18, 0, 0, 0, time.UTC), nil},
	{"Fri, 27 Nov 2026 11:28:48 PST", time.Date(2026, 11, 27, 19, 28, 48, 0, time.UTC), nil},
	{"Tue, 19 Jan 2016 14:32:49 EST", time.Date(2016, 1, 19, 19, 32, 49, 0, time.UTC), nil},
	{"Thu, 9 Apr 2006 23:34:45 JST", time.Date(2006, 4, 9, 14, 34, 45, 0, time.UTC), nil},
	{"Wed, 06 Apr 2022 04:37:27 CEST", time.Date(2022, 4, 6, 2, 37, 27, 0, time.UTC), nil},
	{"Mon, 18 Jan 2016 23:57:24 UTC", time.Date(2016, 1, 18, 23, 57, 24, 0, time.UTC), nil},
	// A numeric offset wins over the comment or name after it.
	{"Tue, 19 Jan 2016 14:32:40 -0500 (EST)", time.Date(2016, 1, 19, 19, 32, 40, 0, time.UTC), nil},
	{"Thu Feb 13 18:28:15 2014 +00:00 GMT", time.Date(2014, 2, 13, 18, 28, 15, 0, time.UTC), nil}, // X-ARF
	{"Fri Nov 27 20:28:48 2026 +01:00 CET", time.Date(2026, 11, 27, 19, 28, 48, 0, time.UTC), nil},
	{"2026-11-27T19:28:48Z", time.Date(2026, 11, 27, 19, 28, 48, 0, time.UTC), nil},
	{"Fri, 27 Nov 2026 19:28:48 XYZT", time.Date(2026, 11, 27, 19, 28, 48, 0, time.UTC), errUnknownZone},
	{"yesterday", time.Time{}, errors.New("not a date")},
	{"", time.Time{}, errors.New("empty")},
}

func TestParseDate(t *testing.T) {
	for _, tt := range dateTests {
		got, err := parseDate(tt.in)
		if (err == nil) != (tt.err == nil) || tt.err == errUnknownZone && !errors.Is(err, errUnknownZone) || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("parseDate(%q) not in UTC: %v", tt.in, got.Location())
		}
	}
}

var receivedShapes = []struct {
	in   string
	want Received
}{
	{
		// Postfix, a mail client behind NAT: the HELO is an address
		// literal, the client is the address in the comment.
		"from [192.168.1.10] (unknown [203.0.113.7]) (Authenticated sender: alice) by mail.corp.example (Postfix) with ESMTPSA id 4ZfQ; Fri, 27 Nov 2026 19:27:54 +0000",
		Received{Helo: "[192.168.1.10]", ClientIP: netip.MustParseAddr("203.0.113.7"), AuthUser: "alice", By: "mail.corp.example",
			With: "ESMTPSA", ID: "4ZfQ", Time: time.Date(2026, 11, 27, 19, 27, 54, 0, time.UTC)},
	},
	{
		// IPv6 literal HELO.
		"from [IPv6:2001:db8::5] (unknown [IPv6:2001:db8::9]) by mx.example (Postfix) with ESMTP id 1AB",
		Received{Helo: "[IPv6:2001:db8::5]", ClientIP: netip.MustParseAddr("2001:db8::9"), By: "mx.example", With: "ESMTP", ID: "1AB"},
	},
	{
		// qmail and IronPort: the reverse name first, "(HELO name)", the address.
		"from localhost (HELO spamcop.net) (127.0.0.1) by sauron.example with SMTP; 20 Jun 2003 00:14:32 -0000",
		Received{Helo: "spamcop.net", ClientName: "localhost", ClientIP: netip.MustParseAddr("127.0.0.1"), By: "sauron.example", With: "SMTP",
			Time: time.Date(2003, 6, 20, 0, 14, 32, 0, time.UTC)},
	},
	{
		// Yahoo: the address first, then "(EHLO name)".
		"from 209.85.166.232 (EHLO mail-il1.example) by 10.253.31.88 with SMTPs; Mon, 27 May 2024 17:55:16 +0000",
		Received{Helo: "mail-il1.example", ClientIP: netip.MustParseAddr("209.85.166.232"), By: "10.253.31.88", With: "SMTPs",
			Time: time.Date(2024, 5, 27, 17, 55, 16, 0, time.UTC)},
	},
	{
		// A proxy's address literal, then the peer's address.
		"from [83.169.54.55] (HELO uhura.example) (80.69.97.11) by trap.example with ESMTPS",
		Received{Helo: "uhura.example", ClientIP: netip.MustParseAddr("80.69.97.11"), By: "trap.example", With: "ESMTPS"},
	},
	{
		// Several recipients, with and without spaces; a zone name.
		"from 24.224.217.6 (unknown [24.224.217.6]) by us with ESMTPA for <A@x.example>,<b@x.example>, <c@y.example>; Thu, 8 Mar 2005 14:00:00 EDT",
		Received{Helo: "24.224.217.6", ClientIP: netip.MustParseAddr("24.224.217.6"), By: "us", With: "ESMTPA",
			For: []string{"a@x.example", "b@x.example", "c@y.example"}, Time: time.Date(2005, 3, 8, 18, 0, 0, 0, time.UTC)},
	},
}

func TestParseReceivedShapes(t *testing.T) {
	for _, tt := range receivedShapes {
		if got := ParseReceived(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseReceived(%q)\n = %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

// arfWith builds an ARF report with the given feedback fields and
// attached part.
func arfWith(feedback, attached string) string {
	return "From: fbl@victim.example\nTo: abuse@corp.example\nSubject: FW: report\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n" +
		"--b\nContent-Type: message/feedback-report\n\n" + feedback + "\n" + attached + "--b--\n"
}

const offending = "Received: from mail.corp.example (mail.corp.example [192.0.2.25])\n\tby mx.victim.example (Postfix) with ESMTPS id 4ZfT0a1Bc2\n\tfor <v@victim.example>; Fri, 27 Nov 2026 19:28:49 +0000\n" +
	"Received: from pc (unknown [203.0.113.9])\n\tby mail.corp.example (Postfix) with ESMTP id 5DB02BC365;\n\tFri, 27 Nov 2026 19:28:48 +0000\n" +
	"From: spammer@outside.example\nTo: v@victim.example\nSubject: buy\nMessage-ID: <spam-1@outside.example>\n"

var kindTests = []struct {
	name, in   string
	kind       string
	messageID  string // "" when the complaint holds no message
	sourceIP   string // with sourceFrom
	sourceFrom string // where it was read
	arrival    time.Time
	rcptTo     []string // Original-Rcpt-To or JMRP's recipient
	listed     []string
	note       string // a phrase of a note; "" for none
	warning    string // a phrase of a warning; "" for none
}{
	{
		name: "SpamCop text report",
		in: "From: 7001@reports.spamcop.net\nTo: abuse@corp.example\nSubject: [SpamCop (192.0.2.25) id:7001]buy\nMessage-ID: <rid_7001@msgid.spamcop.net>\n" +
			"X-SpamCop-sourceip: 192.0.2.25\n\n[ SpamCop V5.0 ]\nEmail from 192.0.2.25 / Fri, 27 Nov 2026 11:28:49 PST\n\n[ Offending message ]\n" + offending + "\nbody\n",
		kind: ComplaintSpamCop, messageID: "spam-1@outside.example", sourceIP: "192.0.2.25", sourceFrom: "X-SpamCop-sourceip",
		arrival: time.Date(2026, 11, 27, 19, 28, 49, 0, time.UTC),
	},
	{
		name: "SpamCop 2003: Offending message: and no source header",
		in: "From: 9@reports.spamcop.net\nTo: abuse@corp.example\nSubject: [SpamCop (192.0.2.25) id:9]x\nMessage-Id: <9@admin.spamcop.net>\n\n" +
			"- SpamCop V1.3.3 -\nEmail from 192.0.2.25 / Thu, 19 Jun 2003 17:34:13 -0400\n\nOffending message:\n" + offending,
		kind: ComplaintSpamCop, messageID: "spam-1@outside.example", sourceIP: "192.0.2.25", sourceFrom: "SpamCop's Email from line",
		arrival: time.Date(2003, 6, 19, 21, 34, 13, 0, time.UTC),
	},
	{
		name: "SpamCop report with nothing pasted",
		in: "From: 7002@reports.spamcop.net\nTo: abuse@corp.example\nSubject: [SpamCop (192.0.2.25) id:7002]x\nMessage-ID: <rid_7002@msgid.spamcop.net>\n\n" +
			"Email from 192.0.2.25 / Fri, 27 Nov 2026 19:28:49 +0000\n\n[ Offending message ]\n(headers removed)\n",
		kind: ComplaintSpamCop, sourceIP: "192.0.2.25", sourceFrom: "SpamCop's Email from line",
		arrival: time.Date(2026, 11, 27, 19, 28, 49, 0, time.UTC), note: "without the offending message's headers",
	},
	{
		name: "Yahoo inline forward, first header on the marker's line, quoted-printable",
		in: "From: u@yahoo.example\nTo: abuse@corp.example\nSubject: Fw: buy\nMessage-ID: <fwd-2@yahoo.example>\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/alternative; boundary=y\n\n--y\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"Spam, please act.\n\n   ----- Forwarded Message -----  Received: from mail.corp.example (mail.corp.example [192.0.2.25])=\n\n" +
			"\tby mx.victim.example (Postfix) with ESMTPS id 4ZfT0a1Bc2; Fri, 27 Nov 2026 19:28:49 +0000\nMessage-ID: <spam-1@outside.e=\nxample>\nSubject: buy\n\nbuy now\n--y--\n",
		kind: ComplaintForward, messageID: "spam-1@outside.example",
	},
	{
		name:      "reply-quoted headers to an abuse desk",
		in:        "From: u@victim.example\nTo: Abuse <abuse@corp.example>\nSubject: spam from you\n\nSee below.\n\n" + "> " + strings.ReplaceAll(strings.TrimSuffix(offending, "\n"), "\n", "\n> ") + "\n>\n> buy\n",
		kind:      ComplaintForward,
		messageID: "spam-1@outside.example",
	},
	{
		name: "a complaint in words to abuse@, no message in it",
		in:   "From: angry@victim.example\nTo: abuse@corp.example\nSubject: stop spamming me\nMessage-ID: <words@victim.example>\nReceived: from x (unknown [203.0.113.4]) by mail.corp.example (Postfix) with ESMTP id 4B49DBC34B\n\nYour server keeps sending me junk. Received: yesterday.\n",
		kind: ComplaintText, note: "no message in it",
	},
	{
		name: "X-ARF spam report without the message",
		in: "From: trap@victim.example\nTo: abuse@corp.example\nX-ARF: YES\nSubject: spam\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n" +
			"--x\nContent-Type: text/plain\n\nA spamtrap got mail from you.\n--x\nContent-Type: text/plain; name=\"report.txt\"\n\n---\nReported-From: trap@victim.example\n" +
			"Category: abuse\nReport-Type: spam\nDate: Thu Feb 13 18:28:15 2014 +00:00 GMT\nSource: 192.0.2.25\nSource-Type: ipv4\n--x--\n",
		kind: ComplaintXARF, sourceIP: "192.0.2.25", sourceFrom: "X-ARF Source", arrival: time.Date(2014, 2, 13, 18, 28, 15, 0, time.UTC),
		note: "searched by its Source and Date only",
	},
	{
		name: "X-ARF about a web attack",
		in: "From: bot@blocklist.example\nTo: abuse@corp.example\nX-XARF: PLAIN\nMessage-Id: <own@blocklist.example>\nSubject: abuse report about 192.0.2.25\nContent-Type: multipart/mixed; boundary=x\n\n" +
			"--x\nContent-Type: text/plain; name=\"report.txt\"\n\n---\nReport-Type: regbot\nService: regbot\nSource: 192.0.2.25\nDate: Fri, 31 Jan 2014 07:19:02 +0100\n--x--\n",
		kind: ComplaintXARF, listed: []string{"192.0.2.25/32"}, note: "not about mail", arrival: time.Date(2014, 1, 31, 6, 19, 2, 0, time.UTC),
	},
	{
		name: "JMRP",
		in: "From: staff@hotmail.example\nTo: abuse@corp.example\nSubject: complaint about message from 192.0.2.25\nMessage-ID: <own@hotmail.example>\nContent-Type: multipart/mixed; boundary=j\n\n" +
			"--j\nContent-Type: message/rfc822\n\nX-HmXmrOriginalRecipient: <V@Victim.example>\nMessage-ID: <vr, 11 okt 2019\n 12:04:05 +0200T12:04:05.115@x.example>\nTo: <redacted>\n\nhi\n--j--\n",
		kind: ComplaintJMRP, messageID: "vr, 11 okt 2019 12:04:05 +0200T12:04:05.115@x.example", sourceIP: "192.0.2.25", sourceFrom: "Subject",
		rcptTo: []string{"v@victim.example"},
	},
	{
		name: "Spamhaus notice",
		in: "From: notification@spamhaus.org\nTo: abuse@corp.example\nSubject: SBL Notify: IP: 192.0.2.0/30 added to Spamhaus Block List (SBL)\nMessage-ID: <own@spamhaus.org>\n\n" +
			"IP/cidr: 192.0.2.0/30\nsend a removal request: <mailto:sbl-removals@spamhaus.org?Subject=SBL1_192.0.2.0/30>\n",
		kind: ComplaintBlocklist, listed: []string{"192.0.2.0/30"}, note: "report relay",
	},
	{
		name: "UCEPROTECT report, a range in the text",
		in:   "From: UCEPROTECT Monitoring <monitoring@uceprotect.net>\nTo: nic@corp.example\nSubject: UCEPROTECT Monitoring Report\n\nStatuschange of Level2 -> NET 198.51.100.0/24\n",
		kind: ComplaintBlocklist, listed: []string{"198.51.100.0/24"}, note: "blocklist notice",
	},
	{
		name: "auth-failure ARF",
		in: arfWith("Feedback-Type: auth-failure\nSource-IP: 203.0.113.2\nReported-Domain: corp.example\nArrival-Date: Thu, 29 Apr 2015 23:34:45 +0900\n",
			"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <forged@x.example>\n\n"),
		kind: ComplaintARF, messageID: "forged@x.example", sourceIP: "203.0.113.2", sourceFrom: "Source-IP",
		arrival: time.Date(2015, 4, 29, 14, 34, 45, 0, time.UTC), note: "not a spam complaint",
	},
	{
		name: "ARF: recipient lists, a redacted Source-IP, the source in the text",
		in: "From: fbl@victim.example\nTo: abuse@corp.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n" +
			"--b\nContent-Type: text/plain\n\nThis is an email abuse report for an email message received from IP\n192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more\n\n" +
			"--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nOriginal-Rcpt-To: <a@x.example>,\n <b@x.example>\nOriginal-Rcpt-To: c@x.example\nSource-IP: x.x.x.x\n\n" +
			"--b\nContent-Type: message/rfc822\n\nMessage-ID: <l@x>\n\nhi\n--b--\n",
		kind: ComplaintARF, messageID: "l@x", sourceIP: "192.0.2.1", sourceFrom: "report text", arrival: time.Date(2005, 3, 8, 18, 0, 0, 0, time.UTC),
		rcptTo: []string{"a@x.example", "b@x.example", "c@x.example"},
	},
	{
		name: "ARF whose attached message was cut by the provider",
		in: "From: fbl@victim.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n" +
			"--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n\n" +
			"--b\nContent-Type: message/rfc822\n\nMessage-ID: <cut@x>\nContent-Type: multipart/mixed; boundary=i\n\n--i\nContent-Type: text/plain\n\nhalf a",
		kind: ComplaintARF, messageID: "cut@x", warning: "cut short on its way",
	},
	{
		// RFC 5965 appendix B.2 as printed: a blank line after Received.
		name: "blank line inside the attached header",
		in: arfWith("Feedback-Type: abuse\n", "--b\nContent-Type: message/rfc822\n\nFrom: <s@x.example>\nReceived: from m (m [192.0.2.1]) by example.com with ESMTP id M63d;\n"+
			"    Thu, 08 Mar 2005 14:00:00 -0400\n\nTo: <Undisclosed Recipients>\nSubject: Earn money\nMessage-ID: 8787KJ.mail@example.net\n\nSpam Spam\n"),
		kind: ComplaintARF, messageID: "8787KJ.mail@example.net", warning: "blank line inside the attached message's header",
	},
	{
		// An attached message whose body mentions a Message-ID is not
		// read as header.
		name: "attached body mentioning a Message-ID",
		in:   arfWith("Feedback-Type: abuse\n", "--b\nContent-Type: message/rfc822\n\nFrom: <s@x.example>\n\nHello,\nMessage-ID: <not@header>\n"),
		kind: ComplaintARF,
	},
	{
		name: "ARF without the message",
		in: "Message-ID: <own@fbl.example>\nReceived: from fbl (fbl [198.51.100.7]) by mail.corp.example (Postfix) with ESMTP id 4B49DBC34B\n" +
			arfWith("Feedback-Type: abuse\nSource-IP: 192.0.2.25\n", ""),
		kind: ComplaintARF, sourceIP: "192.0.2.25", sourceFrom: "Source-IP", note: "without the message",
	},
	{
		name: "JMRP without the message",
		in:   "From: staff@hotmail.example\nTo: postmaster@corp.example\nSubject: complaint about message from 192.0.2.25\nMessage-ID: <own@hotmail.example>\n\nsee attachment\n",
		kind: ComplaintJMRP, sourceIP: "192.0.2.25", sourceFrom: "Subject", note: "without the message",
	},
	{
		// A spam sample whose own body quotes headers is still the spam.
		name: "spam sample quoting headers",
		in:   "From: s@outside.example\nTo: v@victim.example\nSubject: read this\nMessage-ID: <sample@outside.example>\n\nReceived: from a by b id C\nMessage-ID: <other@x>\n",
		kind: ComplaintMessage, messageID: "sample@outside.example",
	},
}

func TestReadComplaintKinds(t *testing.T) {
	for _, tt := range kindTests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadComplaint(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != tt.kind || c.MessageID != tt.messageID {
				t.Errorf("kind %q message-id %q, want %q %q", c.Kind, c.MessageID, tt.kind, tt.messageID)
			}
			if tt.sourceIP != "" && (c.SourceIP != netip.MustParseAddr(tt.sourceIP) || c.SourceIPFrom != tt.sourceFrom) {
				t.Errorf("source %v from %q, want %s from %q", c.SourceIP, c.SourceIPFrom, tt.sourceIP, tt.sourceFrom)
			}
			if tt.sourceIP == "" && c.SourceIP.IsValid() {
				t.Errorf("source %v from %q, want none", c.SourceIP, c.SourceIPFrom)
			}
			if !c.ArrivalDate.Equal(tt.arrival) {
				t.Errorf("arrival %v, want %v", c.ArrivalDate, tt.arrival)
			}
			if !slices.Equal(c.OriginalRcptTo, tt.rcptTo) {
				t.Errorf("recipients %q, want %q", c.OriginalRcptTo, tt.rcptTo)
			}
			var listed []string
			for _, p := range c.Listed {
				listed = append(listed, p.String())
			}
			if !slices.Equal(listed, tt.listed) {
				t.Errorf("listed %q, want %q", listed, tt.listed)
			}
			notes := strings.Join(c.Notes, "\n")
			if tt.note == "" && notes != "" || !strings.Contains(notes, tt.note) {
				t.Errorf("notes %q, want one with %q", c.Notes, tt.note)
			}
			warnings := strings.Join(c.Warnings, "\n")
			if tt.warning == "" && warnings != "" || !strings.Contains(warnings, tt.warning) {
				t.Errorf("warnings %q, want one with %q", c.Warnings, tt.warning)
			}
			if tt.messageID == "" && tt.note != "" && (len(c.Received) > 0 || len(c.From) > 0 || len(c.To) > 0) {
				t.Errorf("a complaint without a message took the report's own headers: %+v", c)
			}
		})
	}
}

// TestInlineHostile: texts with a marker, or the start of a pasted
// header, on every line are read in linear time (FuzzComplaint found the
// second taking seconds), and give no message.
func TestInlineHostile(t *testing.T) {
	for _, body := range []string{
		strings.Repeat("X-Junk: forwarded message\n", 40000),
		strings.Repeat("X-Originating-IP: 192.0.2.1\n", 40000),
		strings.Repeat("Delivered-To: a@x.example\n", 40000),
	} {
		c, err := ReadComplaint(strings.NewReader("From: a@x.example\nTo: abuse@corp.example\nSubject: Fwd: x\n\n" + body))
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != ComplaintText || c.MessageID != "" {
			t.Errorf("%.30q...: kind %q message-id %q, want a complaint in words without a message", body, c.Kind, c.MessageID)
		}
	}
}

// TestRealComplaints reads the 27 real complaints in place (other
// people's data: ../../shared/corpus/complaints, not copied here) and
// checks the kind each is recognised as, and that the text reports give
// the offending message's Message-ID, not the report's own.
func TestRealComplaints(t *testing.T) {
	dir := "../../shared/corpus/complaints"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no real complaints here: %v", err)
	}
	tests := []struct {
		file, kind, messageID string
		sourceIP              string
	}{
		{"arf-abusix-spamtrap.eml", ComplaintARF, "3B3E88DBD0042A99454009B4008603B7@xxx-xxx-xxxx.xxx", "24.224.217.6"},
		{"arf-hotmail-xmr-authfail.eml", ComplaintARF, "ad7a.75c2-98bfdd1ef4@unihold.co.za", "178.62.214.121"},
		{"arf-minimal-sisimai.eml", ComplaintARF, "ffffffffffffffffffffffffff0000000000@example.net", "192.0.2.2"},
		{"blocklist-spamhaus-sbl.eml", ComplaintBlocklist, "", ""},
		{"blocklist-uceprotect.eml", ComplaintBlocklist, "", ""},
		{"dmarc-ruf-headers.eml", ComplaintARF, "000000000.2222222.0000000000002@example.net", "203.0.113.2"},
		{"fbl-aol-scomp.eml", ComplaintARF, "20160119143236.14076@une.com.co", "10.17.18.1"},
		{"fwd-inline-yahoo-user.eml", ComplaintForward, "mid-32194299654922303510299284454428140718080353281462@tbfvqd.shared.klaviyomail.com", ""},
		{"jmrp-hotmail.eml", ComplaintJMRP, "vr, 11 okt 2019 12:04:05 +0200T12:04:05.115@sonderkamp.info", "213.75.39.8"},
		{"jmrp-sisimai.eml", ComplaintJMRP, "0000000000fffffffff0000000000000@example.com", "192.0.2.222"},
		{"rfc5965-B1-minimal.eml", ComplaintARF, "8787KJKJ3K4J3K4J3K4J3.mail@example.net", "192.0.2.1"},
		{"rfc5965-B2-verbatim.eml", ComplaintARF, "8787KJKJ3K4J3K4J3K4J3.mail@example.net", "192.0.2.1"},
		{"spamcop-2003-mailabuse.eml", ComplaintSpamCop, "MJNA_____________________________etam@iol.it", "10.0.0.1"},
		{"spamcop-inline-v483.eml", ComplaintSpamCop, "6cad3b0c911d9d3f713d88131918e962@ecton.org", "178.200.164.219"},
		{"spamcop-inline-v490.eml", ComplaintSpamCop, "3836______________3747@vps1695546", "62.141.38.211"},
		{"xarf-blocklistde-regbot.eml", ComplaintXARF, "", ""},
		{"xarf-v02-spam-netcologne.eml", ComplaintXARF, "FF1A8B99D20BA366AE3D21BC77051DE-920998FC12F2006A46DB7843E934EA81@adsl-dyn-255-106.heliweb.de", "83.216.255.106"},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join(dir, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		c, err := ReadComplaint(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		src := ""
		if c.SourceIP.IsValid() {
			src = c.SourceIP.String()
		}
		if c.Kind != tt.kind || c.MessageID != tt.messageID || src != tt.sourceIP {
			t.Errorf("%s: kind %q message-id %q source %q, want %q %q %q", tt.file, c.Kind, c.MessageID, src, tt.kind, tt.messageID, tt.sourceIP)
		}
		if (tt.kind == ComplaintARF && (c.FeedbackType == "auth-failure")) != slices.ContainsFunc(c.Notes, func(n string) bool { return strings.Contains(n, "not a spam complaint") }) {
			t.Errorf("%s: notes %q", tt.file, c.Notes)
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, "NextPart") || strings.Contains(w, "unexpected EOF") {
				t.Errorf("%s: a MIME parser's error shown: %q", tt.file, w)
			}
		}
	}
}
