package analysis

import (
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
)

// inlineMarkers introduce the offending message's headers pasted into a
// report's text: SpamCop's "[ Offending message ]" (older versions
// "Offending message:"), Gmail's "---------- Forwarded message ---------",
// Yahoo's "----- Forwarded Message -----" (the first header on the same
// line), Outlook's "-----Original Message-----", Apple Mail's "Begin
// forwarded message:". Compared lower-cased.
var inlineMarkers = []struct{ marker, kind string }{
	{"[ offending message ]", ComplaintSpamCop},
	{"offending message:", ComplaintSpamCop},
	{"begin forwarded message", ComplaintForward},
	{"forwarded message", ComplaintForward},
	{"original message", ComplaintForward},
}

// inlineStarts are the headers a pasted header block without a marker
// starts with (the "show original" text a user pastes into a complaint).
var inlineStarts = []string{"received:", "return-path:", "message-id:", "delivered-to:", "x-originating-ip:"}

// maxInlineTries bounds the lines a header block is looked for at
// (marker lines, and lines starting like pasted headers).
const maxInlineTries = 32

// quoteRE is the quoting of a reply: "> ", ">> ", "> > ".
var quoteRE = regexp.MustCompile(`^(?:> ?)+`)

// inlineMessage finds the headers of the message a report in words is
// about: after a marker line, or (when the outer message h reads as a
// complaint rather than as the spam itself) a block of pasted headers
// starting with Received, Return-Path or Message-ID. It returns the
// headers and the kind of complaint that carries them.
func inlineMessage(texts []text, h mail.Header) (mail.Header, string, bool) {
	tries := 0 // a hostile text with a marker on every line reads in linear time
	for _, t := range texts {
		lines := strings.Split(t.body, "\n")
		for i, line := range lines {
			low := strings.ToLower(line)
			for _, m := range inlineMarkers {
				j := strings.Index(low, m.marker)
				if j < 0 {
					continue
				}
				if tries++; tries > maxInlineTries {
					return nil, "", false
				}
				// Yahoo puts the first header after the marker's dashes.
				rest := strings.TrimLeft(line[j+len(m.marker):], "-: \t")
				block := lines[i+1:]
				if rest != "" {
					block = append([]string{rest}, block...)
				}
				if ih, ok := pastedHeader(block); ok {
					return ih, m.kind, true
				}
			}
		}
	}
	if !complaintLike(h) {
		return nil, "", false
	}
	for _, t := range texts {
		lines := strings.Split(t.body, "\n")
		for i, line := range lines {
			low := strings.ToLower(strings.TrimSpace(quoteRE.ReplaceAllString(line, "")))
			for _, s := range inlineStarts {
				if !strings.HasPrefix(low, s) {
					continue
				}
				if tries++; tries > maxInlineTries {
					return nil, "", false
				}
				if ih, ok := pastedHeader(lines[i:]); ok && (len(ih["Received"]) > 0 || len(ih["Message-Id"]) > 0) {
					return ih, ComplaintForward, true
				}
			}
		}
	}
	return nil, "", false
}

// pastedHeader reads a header block pasted into text: leading blank lines
// skipped, reply quoting removed, folded lines joined; it ends at a blank
// line or the first line that is not a header. It is a message's header
// when it holds two fields or more, one of them naming the message.
func pastedHeader(lines []string) (mail.Header, bool) {
	h := mail.Header{}
	var last string
	n := 0
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		line = quoteRE.ReplaceAllString(line, "")
		if strings.TrimSpace(line) == "" {
			if n == 0 {
				continue
			}
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			vs := h[last]
			vs[len(vs)-1] += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !headerName(name) {
			break
		}
		last = textproto.CanonicalMIMEHeaderKey(name)
		h[last] = append(h[last], strings.TrimSpace(value))
		if n++; n > 1000 {
			break
		}
	}
	named := 0
	for _, k := range []string{"Received", "Message-Id", "From", "Return-Path", "Date", "Subject", "To"} {
		if len(h[k]) > 0 {
			named++
		}
	}
	return h, n >= 2 && named > 0
}

// headerName reports whether s is a header field name (RFC 5322 section
// 2.2: printable US-ASCII but the colon, no space).
func headerName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// complaintLike reports whether the outer message reads as a complaint
// rather than as the spam itself: sent to an abuse desk, or a forward.
func complaintLike(h mail.Header) bool {
	if abuseDesk(h) != "" {
		return true
	}
	s := strings.ToLower(strings.TrimSpace(decodeWords(h.Get("Subject"))))
	for _, p := range []string{"fw:", "fwd:", "fw :", "tr:", "wg:", "[spamcop"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// abuseDesk returns the abuse desk address the message was sent to
// (abuse@, abuse-reports@, noc-abuse@, fbl@...), or "".
func abuseDesk(h mail.Header) string {
	var addrs []string
	for _, k := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Resent-To"} {
		addrs = append(addrs, addresses(h, k)...)
	}
	for _, a := range addrs {
		local, _, ok := strings.Cut(a, "@")
		if !ok {
			continue
		}
		if strings.HasPrefix(local, "abuse") || strings.HasSuffix(local, "abuse") || local == "fbl" || strings.HasPrefix(local, "spam-report") {
			return a
		}
	}
	return ""
}
