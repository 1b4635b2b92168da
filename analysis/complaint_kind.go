package analysis

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	// spamCopLineRE is SpamCop's "Email from 192.0.2.9 / Mon, 12 Sep 2016
	// 08:55:12 -0500": the address that handed the spam to the reporter's
	// provider, and when.
	spamCopLineRE = regexp.MustCompile(`(?m)^\s*Email from (?P<ip>[0-9A-Fa-f.:]+) / (?P<date>[^\r\n]+?)\s*$`)
	// jmrpSubjectRE is the subject of Microsoft's JMRP reports:
	// "complaint about message from 192.0.2.9".
	jmrpSubjectRE = regexp.MustCompile(`(?i)complaint about message from (?P<ip>[0-9a-f.:]+)`)
	// arfTextRE is the sentence RFC 5965's example puts in the report's
	// text part, and many senders copy: "received from IP 192.0.2.1 on
	// Thu, 8 Mar 2005 14:00:00 EDT."
	arfTextRE = regexp.MustCompile(`(?i)received from (?:ip (?:address |source )?)?(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]+)\s+on\s+(?P<date>[^.]+?)\s*(?:\.\s|\.$|$)`)
	// listedRE finds the IPv4 addresses and ranges a blocklist notice
	// lists ("IP/cidr: 192.0.2.0/32", "NET 192.0.2.0/24").
	listedRE = regexp.MustCompile(`(?:^|[^0-9.])(?P<addr>\d{1,3}(?:\.\d{1,3}){3})(?:/(?P<bits>\d{1,2}))?(?:$|[^0-9.])`)
	// blocklistSubjectRE is a blocklist notice's subject.
	blocklistSubjectRE = regexp.MustCompile(`(?i)\b(?:block ?list|black ?list(?:ed)?|sbl|xbl|css|dbl|listing ?risk|listed)\b`)
)

// blocklistSenders are the domains blocklist notices come from.
var blocklistSenders = []string{"spamhaus.org", "uceprotect.net", "abuseat.org", "sorbs.net", "barracudacentral.org",
	"spamrats.com", "psbl.org", "mailspike.net", "invaluement.com", "senderscore.org"}

// maxListed bounds the addresses kept from a blocklist notice.
const maxListed = 16

// classify tells the kinds of report apart by what they carry beside the
// message, and notes what that means for the search. It reports whether
// the outer message's own headers are the message complained about (a
// spam sample): not for a report, whose headers are about its own
// delivery to you.
func (rd *complaintReader) classify(h mail.Header, haveMessage bool) bool {
	c := rd.c
	switch c.FeedbackType {
	case "auth-failure", "dmarc":
		c.Notes = append(c.Notes, fmt.Sprintf("an authentication failure report (Feedback-Type: %s), not a spam complaint: a message that failed SPF, DKIM or DMARC for %s; one forged in your domain's name from elsewhere is not in your logs",
			c.FeedbackType, orWord(c.ReportedDomain, "the reported domain")))
	case "not-spam":
		c.Notes = append(c.Notes, "a not-spam report (Feedback-Type: not-spam): the user says this message is wanted")
	case "opt-out", "unsubscribe":
		c.Notes = append(c.Notes, fmt.Sprintf("an unsubscribe request (Feedback-Type: %s), not a spam complaint", c.FeedbackType))
	}
	if c.Kind == ComplaintARF {
		rd.arfText()
		if !haveMessage {
			c.Notes = append(c.Notes, "an ARF report without the message or its headers: searched by its feedback fields only (its own headers are about its delivery to you)")
		}
		return false
	}
	subject := decodeWords(h.Get("Subject"))
	switch {
	case spamCop(h):
		c.Kind = ComplaintSpamCop
		if v := strings.TrimSpace(h.Get("X-Spamcop-Sourceip")); v != "" {
			if a, ok := parseIP(v); ok {
				c.SourceIP, c.SourceIPFrom = a, "X-SpamCop-sourceip"
			}
		}
		for _, t := range rd.texts {
			m := spamCopLineRE.FindStringSubmatch(t.body)
			if m == nil {
				continue
			}
			if a, ok := parseIP(m[spamCopLineRE.SubexpIndex("ip")]); ok && !c.SourceIP.IsValid() {
				c.SourceIP, c.SourceIPFrom = a, "SpamCop's Email from line"
			}
			if d, err := parseDate(m[spamCopLineRE.SubexpIndex("date")]); err == nil || errors.Is(err, errUnknownZone) {
				c.ArrivalDate = d
			}
			break
		}
		if !haveMessage {
			c.Notes = append(c.Notes, "a SpamCop report without the offending message's headers: searched by the source address and time only")
		}
		return false
	case rd.xarf(h, haveMessage):
		return false
	case jmrpSubjectRE.MatchString(subject):
		c.Kind = ComplaintJMRP
		if a, ok := parseIP(jmrpSubjectRE.FindStringSubmatch(subject)[jmrpSubjectRE.SubexpIndex("ip")]); ok {
			c.SourceIP, c.SourceIPFrom = a, "Subject"
		}
		if !haveMessage {
			c.Notes = append(c.Notes, "a JMRP report without the message: searched by the address in its subject only")
		}
		return false
	case haveMessage:
		return false
	case blocklistNotice(h, subject):
		c.Kind = ComplaintBlocklist
		rd.listed(subject)
		c.Notes = append(c.Notes, blocklistNote(c.Listed, h.Get("Date")))
		return false
	case abuseDesk(h) != "":
		c.Kind = ComplaintText
		c.Notes = append(c.Notes, fmt.Sprintf("a complaint in words to %s with no message in it: its own headers are about its delivery to you and are not searched; ask for the offending message's full headers, or give --message-id, --recipient, --since", abuseDesk(h)))
		return false
	}
	return true
}

// blocklistNote says what a blocklist notice leads to: not a message
// search, but `report` over the week before the notice, for what relayed
// through your server (a listed address of yours is normally its
// outbound one) or what the listed client sent.
func blocklistNote(listed []netip.Prefix, date string) string {
	var ps []string
	for _, p := range listed {
		ps = append(ps, p.String())
	}
	what := "no address it could be read from"
	if len(ps) > 0 {
		what = strings.Join(ps, ", ")
	}
	when := ""
	if t, err := parseDate(date); err == nil || errors.Is(err, errUnknownZone) {
		when = fmt.Sprintf(" --since %s --until %s", t.AddDate(0, 0, -7).Format(time.DateOnly), t.AddDate(0, 0, 1).Format(time.DateOnly))
	}
	note := fmt.Sprintf("a blocklist notice listing %s, not a message: nothing to search for. If the address is your server's, see what relayed through it: relaysleuth report relay%s", what, when)
	if len(listed) > 0 && listed[0].IsSingleIP() {
		note += fmt.Sprintf("; if it is a client's, what it sent: relaysleuth report recipients --client-ip %s%s", listed[0].Addr(), when)
	}
	return note
}

// afterHeader takes what a kind of report keeps in the message's own
// header: JMRP's recipient (X-HmXmrOriginalRecipient).
func (rd *complaintReader) afterHeader(orig *found) {
	c := rd.c
	if orig == nil || c.Kind != ComplaintJMRP || len(c.OriginalRcptTo) > 0 {
		return
	}
	for _, v := range orig.h["X-Hmxmroriginalrecipient"] {
		if a := bareAddress(v); a != "" && !slices.Contains(c.OriginalRcptTo, a) {
			c.OriginalRcptTo = append(c.OriginalRcptTo, a)
			c.RcptFrom = "X-HmXmrOriginalRecipient"
		}
	}
}

// arfText reads the source address and time from an ARF report's
// text part when its feedback fields lack them (RFC 5965 appendix B.1
// has neither).
func (rd *complaintReader) arfText() {
	c := rd.c
	if c.SourceIP.IsValid() && !c.ArrivalDate.IsZero() {
		return
	}
	for _, t := range rd.texts {
		for _, para := range strings.Split(strings.ReplaceAll(t.body, "\r", ""), "\n\n") {
			m := arfTextRE.FindStringSubmatch(strings.Join(strings.Fields(para), " "))
			if m == nil {
				continue
			}
			if a, ok := parseIP(m[arfTextRE.SubexpIndex("ip")]); ok && !c.SourceIP.IsValid() {
				c.SourceIP, c.SourceIPFrom = a, "report text"
			}
			if d, err := parseDate(m[arfTextRE.SubexpIndex("date")]); (err == nil || errors.Is(err, errUnknownZone)) && c.ArrivalDate.IsZero() {
				c.ArrivalDate = d
			}
			return
		}
	}
}

// spamCop reports whether h is a SpamCop report's.
func spamCop(h mail.Header) bool {
	for _, a := range addresses(h, "From") {
		if strings.HasSuffix(a, "@reports.spamcop.net") {
			return true
		}
	}
	return strings.Contains(strings.ToLower(h.Get("X-Mailer")), "spamcop.net") ||
		strings.HasPrefix(decodeWords(h.Get("Subject")), "[SpamCop")
}

// xarf reads an X-ARF report (http://x-arf.org): a "X-ARF: YES" (0.2) or
// "X-XARF: PLAIN" (0.1) header and a text part of YAML fields after
// "---". Its Source is searched as the client when the report is about
// mail (Report-Type spam); otherwise it names a host, not a message.
func (rd *complaintReader) xarf(h mail.Header, haveMessage bool) bool {
	c := rd.c
	var f mail.Header
	for _, t := range rd.texts {
		body := strings.TrimLeft(t.body, "\r\n \t")
		if !strings.HasPrefix(body, "---") {
			continue
		}
		lines := strings.Split(body, "\n")[1:]
		if ph, ok := pastedXARF(lines); ok {
			f = ph
			break
		}
	}
	if f == nil && h.Get("X-Arf") == "" && h.Get("X-Xarf") == "" {
		return false
	}
	c.Kind = ComplaintXARF
	if f == nil {
		if !haveMessage {
			c.Notes = append(c.Notes, "an X-ARF report without its report fields or a message: nothing to search")
		}
		return true
	}
	rt := strings.ToLower(strings.TrimSpace(f.Get("Report-Type")))
	c.FeedbackType = rt
	src := strings.TrimSpace(f.Get("Source"))
	a, ok := parseIP(src)
	if d := f.Get("Date"); d != "" {
		if t, err := parseDate(d); err == nil || errors.Is(err, errUnknownZone) {
			c.ArrivalDate = t
		} else {
			c.warnf("bad X-ARF Date %q", d)
		}
	}
	mailReport := strings.Contains(rt, "spam") || rt == "" && haveMessage
	switch {
	case mailReport && ok:
		c.SourceIP, c.SourceIPFrom = a, "X-ARF Source"
		if !haveMessage {
			c.Notes = append(c.Notes, "an X-ARF spam report without the message: searched by its Source and Date only")
		}
	case !mailReport:
		if ok && len(c.Listed) < maxListed {
			c.Listed = append(c.Listed, netip.PrefixFrom(a, a.BitLen()))
		}
		c.Notes = append(c.Notes, fmt.Sprintf("an X-ARF report of type %q (service %q) about %s: not about mail, so there is no message to look for in mail logs",
			orWord(rt, "unknown"), strings.TrimSpace(f.Get("Service")), orWord(src, "no source")))
	}
	return true
}

// pastedXARF reads X-ARF's YAML fields: "Name: value" lines.
func pastedXARF(lines []string) (mail.Header, bool) {
	h := mail.Header{}
	for _, line := range lines {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || !headerName(name) {
			if strings.TrimSpace(line) == "" {
				continue
			}
			break
		}
		k := strings.ToLower(name)
		h[mailKey(k)] = append(h[mailKey(k)], strings.Trim(strings.TrimSpace(value), `"'`))
	}
	return h, len(h["Report-Type"]) > 0 || len(h["Reported-From"]) > 0 && len(h["Source"]) > 0
}

// mailKey is the canonical form of a lower-cased field name.
func mailKey(k string) string {
	b := []byte(k)
	up := true
	for i, c := range b {
		if up && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

// blocklistNotice reports whether h is a blocklist's notice.
func blocklistNotice(h mail.Header, subject string) bool {
	for _, k := range []string{"From", "Sender", "Reply-To"} {
		for _, a := range addresses(h, k) {
			_, d, _ := strings.Cut(a, "@")
			for _, s := range blocklistSenders {
				if d == s || strings.HasSuffix(d, "."+s) {
					return true
				}
			}
		}
	}
	return blocklistSubjectRE.MatchString(subject)
}

// listed collects the addresses and ranges in a notice's subject and text.
func (rd *complaintReader) listed(subject string) {
	c := rd.c
	for _, s := range append([]string{subject}, textBodies(rd.texts)...) {
		for _, m := range listedRE.FindAllStringSubmatch(s, -1) {
			a, err := netip.ParseAddr(m[listedRE.SubexpIndex("addr")])
			if err != nil {
				continue
			}
			p := netip.PrefixFrom(a, 32)
			if b := m[listedRE.SubexpIndex("bits")]; b != "" {
				if pp, err := netip.ParsePrefix(a.String() + "/" + b); err == nil {
					p = pp.Masked()
				}
			}
			if len(c.Listed) == maxListed {
				return
			}
			if !slices.Contains(c.Listed, p) {
				c.Listed = append(c.Listed, p)
			}
		}
	}
}

func textBodies(ts []text) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.body
	}
	return out
}

// orWord returns s, or def when s is empty.
func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
