package analysis

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxComplaintBytes is the most of a complaint that is read: an abuse report
// is a few kilobytes; a spam sample with attachments rarely passes a few
// megabytes. Beyond it the complaint is cut and a warning says so.
const MaxComplaintBytes = 16 << 20

// maxComplaintDepth bounds how deep reports forwarded as attachments of
// forwarded reports are opened, and maxComplaintParts how many parts of one
// multipart body are looked at: a hostile file cannot make the reader loop.
const (
	maxComplaintDepth = 8
	maxComplaintParts = 64
	// maxReceived bounds the Received headers read: RFC 5321 section
	// 6.3 suggests rejecting mail with more than 100 of them as a loop.
	// The topmost are kept: forged ones sit below the server's own.
	maxReceived = 100
	// maxWarnings and maxWarningBytes bound what a hostile complaint can
	// make us print.
	maxWarnings     = 20
	maxWarningBytes = 200
)

// The kinds of complaint, as Complaint.Kind names them.
const (
	ComplaintARF       = "arf"       // an RFC 5965 feedback report
	ComplaintMessage   = "message"   // a raw message (.eml)
	ComplaintHeaders   = "headers"   // only the headers of a message
	ComplaintSpamCop   = "spamcop"   // SpamCop's text report: the offending message's headers in the body
	ComplaintForward   = "forward"   // a forward with the message inline ("Forwarded message", "> " quotes)
	ComplaintXARF      = "x-arf"     // an X-ARF report (YAML fields in a report.txt part)
	ComplaintJMRP      = "jmrp"      // Microsoft's JMRP: the message attached, the IP in the subject
	ComplaintBlocklist = "blocklist" // a blocklist notice: addresses, not a message
	ComplaintText      = "text"      // a complaint in words to an abuse desk, no message in it
)

// ErrNotComplaint reports input that holds no message header at all.
var ErrNotComplaint = errors.New("no message headers found (want an ARF report, a .eml message or its headers)")

// Complaint is what an abuse report or a saved spam sample says about one
// message: the keys an investigation looks the message up by.
type Complaint struct {
	Kind         string `json:"kind"`                    // ComplaintARF, ComplaintSpamCop, ... ComplaintHeaders
	FeedbackType string `json:"feedback_type,omitempty"` // "abuse", "fraud", ... (ARF); X-ARF's Report-Type

	// Notes say what kind of report this is when that matters for what
	// it can find: not a spam complaint (auth-failure, DMARC), no message
	// in it, a blocklist's addresses to look up with `report` instead.
	Notes []string `json:"notes,omitempty"`
	// Listed holds the addresses or ranges a blocklist notice lists, or a
	// report about something else than mail is about: they name a host,
	// not a message, and are not searched as a client.
	Listed []netip.Prefix `json:"listed,omitempty"`

	MessageID  string    `json:"message_id,omitempty"` // without angle brackets
	Subject    string    `json:"subject,omitempty"`
	From       []string  `json:"from,omitempty"` // header addresses
	To         []string  `json:"to,omitempty"`   // To and Cc
	ReturnPath string    `json:"return_path,omitempty"`
	Date       time.Time `json:"date"`

	// The fields of the message/feedback-report part (RFC 5965 section 3.2).
	OriginalMailFrom string     `json:"original_mail_from,omitempty"`
	OriginalRcptTo   []string   `json:"original_rcpt_to,omitempty"`
	ArrivalDate      time.Time  `json:"arrival_date"`
	SourceIP         netip.Addr `json:"source_ip"`
	// SourceIPFrom says where SourceIP was read: "Source-IP",
	// "X-SpamCop-sourceip", "X-ARF Source", "Subject", "report text".
	SourceIPFrom   string `json:"source_ip_from,omitempty"`
	ReportedDomain string `json:"reported_domain,omitempty"`
	// RcptFrom says where OriginalRcptTo was read when not from the
	// feedback report: JMRP's X-HmXmrOriginalRecipient.
	RcptFrom string `json:"rcpt_from,omitempty"`

	// Received holds the message's Received headers, newest (topmost) first.
	Received []Received `json:"received,omitempty"`

	// Warnings say what could not be read; the rest is a partial answer.
	Warnings []string `json:"warnings,omitempty"`
}

// Received is one Received header (RFC 5321 section 4.4), taken apart.
type Received struct {
	Helo       string     `json:"helo,omitempty"`        // the name the client gave ("from" clause)
	ClientName string     `json:"client_name,omitempty"` // its reverse DNS name, as the server saw it
	ClientIP   netip.Addr `json:"client_ip"`
	By         string     `json:"by,omitempty"`
	With       string     `json:"with,omitempty"`
	ID         string     `json:"id,omitempty"`        // the receiving server's queue id
	For        []string   `json:"for,omitempty"`       // "for <a>, <b>"
	AuthUser   string     `json:"auth_user,omitempty"` // Postfix "(Authenticated sender: alice)"
	Time       time.Time  `json:"time"`
	// Own is set by Investigate: the hop was written by one of your
	// servers (its queue id is stored, or its host is one of the logs'),
	// so its client and queue id are searched; the others are shown only.
	Own bool `json:"own"`

	literal string // the "from" word was an address: the client's, unless a comment names another
}

// ReadComplaint reads an ARF feedback report (also one forwarded as an
// attachment), a raw message or only its headers. It returns an error only
// when no message header could be found; whatever else is wrong is noted in
// Warnings and the rest is still read.
func ReadComplaint(r io.Reader) (*Complaint, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxComplaintBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read complaint: %w", err)
	}
	c := &Complaint{Kind: ComplaintMessage}
	if len(data) > MaxComplaintBytes {
		data = data[:MaxComplaintBytes]
		c.warnf("complaint cut at %d bytes", MaxComplaintBytes)
	}
	data = c.toUTF8(data)
	// Some tools save messages with a leading mbox "From " line.
	if bytes.HasPrefix(data, []byte("From ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	h, body, ok := c.readHeader(data)
	if !ok {
		return nil, ErrNotComplaint
	}
	rd := &complaintReader{c: c}
	rd.message(h, body, 0)
	if rd.report {
		c.Kind = ComplaintARF
	}
	orig := rd.original
	if orig == nil {
		// A report in words: the offending message's headers pasted in
		// the body (SpamCop, a forward, a quote), or no message at all.
		if ih, kind, ok := inlineMessage(rd.texts, h); ok {
			orig = &found{h: ih, headersOnly: true}
			c.Kind = kind
		}
	}
	ownHeaders := rd.classify(h, orig != nil)
	if orig == nil && ownHeaders {
		orig = &found{h: h, headersOnly: len(bytes.TrimSpace(body)) == 0}
		if orig.headersOnly && c.Kind == ComplaintMessage {
			c.Kind = ComplaintHeaders
		}
	}
	if orig != nil {
		c.fromHeader(orig.h)
	}
	rd.afterHeader(orig)
	return c, nil
}

// warnf notes what could not be read, once, in valid UTF-8 and at most
// maxWarningBytes long: the text may quote the complaint.
func (c *Complaint) warnf(format string, args ...any) {
	w := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	if len(w) > maxWarningBytes {
		i := maxWarningBytes
		for i > 0 && !utf8.RuneStart(w[i]) {
			i--
		}
		w = w[:i] + "…"
	}
	if len(c.Warnings) < maxWarnings && !slices.Contains(c.Warnings, w) {
		c.Warnings = append(c.Warnings, w)
	}
}

// toUTF8 drops a UTF-8 byte order mark and decodes a file saved as UTF-16
// (Windows editors do), which would otherwise hold no readable header.
func (c *Complaint) toUTF8(data []byte) []byte {
	if b, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		return b
	}
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		order = binary.BigEndian
	default:
		return data
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	c.warnf("complaint is UTF-16: decoded")
	return []byte(string(utf16.Decode(units)))
}

// readHeader parses the header block at the start of data with net/mail,
// falling back to a lenient reader (with a warning) when a line is not a
// header: a partial answer beats none.
func (c *Complaint) readHeader(data []byte) (mail.Header, []byte, bool) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err == nil && len(msg.Header) > 0 {
		body, _ := io.ReadAll(msg.Body)
		return msg.Header, body, true
	}
	h, body := lenientHeader(data)
	if len(h) == 0 {
		return nil, nil, false
	}
	if err != nil {
		c.warnf("malformed header block, read leniently: %v", err)
	}
	return h, body, true
}

// lenientHeader reads "Name: value" lines (with folded continuations) up to
// the first empty line, skipping lines that are not headers.
func lenientHeader(data []byte) (mail.Header, []byte) {
	h := mail.Header{}
	var last string
	rest := data
	for len(rest) > 0 {
		line := rest
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			vs := h[last]
			vs[len(vs)-1] += " " + strings.TrimSpace(string(line))
			continue
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			last = ""
			continue
		}
		last = textproto.CanonicalMIMEHeaderKey(name)
		h[last] = append(h[last], strings.TrimSpace(value))
	}
	return h, rest
}

// found is a message met while walking a complaint.
type found struct {
	h           mail.Header
	headersOnly bool
}

// complaintReader walks the MIME tree of a complaint.
type complaintReader struct {
	c        *Complaint
	report   bool   // a message/feedback-report part was seen
	original *found // the innermost message: the one complained about
	depth    int    // the depth original was found at
	inside   int    // how many attached messages the walk is in
	texts    []text // the report's own text parts, not those of attached messages
	textLen  int
}

// text is a text part of the report itself, decoded.
type text struct {
	name string // the part's file name ("report.txt" in X-ARF)
	body string
}

// maxTextBytes bounds the report text kept to look for pasted headers
// and report fields in.
const maxTextBytes = 1 << 20

// addText keeps a text part of the report (not of an attached message).
func (rd *complaintReader) addText(name string, body []byte) {
	if rd.inside > 0 || rd.textLen >= maxTextBytes {
		return
	}
	if len(body) > maxTextBytes-rd.textLen {
		body = body[:maxTextBytes-rd.textLen]
	}
	rd.textLen += len(body)
	rd.texts = append(rd.texts, text{name: name, body: strings.ToValidUTF8(string(body), "\uFFFD")})
}

// message walks one message (header h, raw body): a report's parts, an
// attached message, or nothing (a plain message).
func (rd *complaintReader) message(h mail.Header, body []byte, depth int) {
	if depth > maxComplaintDepth {
		rd.c.warnf("messages nested deeper than %d levels not read", maxComplaintDepth)
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		rd.addText("", decodeBody(h.Get("Content-Transfer-Encoding"), body))
		return
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		rd.c.warnf("bad Content-Type %q: %v", ct, err)
		return
	}
	switch {
	case mt == "text/plain":
		rd.addText(params["name"], decodeBody(h.Get("Content-Transfer-Encoding"), body))
	case strings.HasPrefix(mt, "multipart/"):
		rd.multipart(params["boundary"], decodeBody(h.Get("Content-Transfer-Encoding"), body), depth)
	case mt == "message/rfc822" || mt == "text/rfc822-headers":
		rd.attached(mt, decodeBody(h.Get("Content-Transfer-Encoding"), body), depth)
	}
}

func (rd *complaintReader) multipart(boundary string, body []byte, depth int) {
	if boundary == "" {
		rd.c.warnf("multipart body without a boundary")
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		if n == maxComplaintParts {
			rd.c.warnf("only the first %d parts read", maxComplaintParts)
			return
		}
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			rd.badPart(err)
			return
		}
		data, err := io.ReadAll(p)
		if err != nil {
			rd.badPart(err)
		}
		ph := mail.Header(p.Header)
		data = decodeBody(ph.Get("Content-Transfer-Encoding"), data)
		mt, params, _ := mime.ParseMediaType(ph.Get("Content-Type"))
		switch {
		case mt == "text/plain" || mt == "" && ph.Get("Content-Type") == "":
			name := params["name"]
			if name == "" {
				_, dp, _ := mime.ParseMediaType(ph.Get("Content-Disposition"))
				name = dp["filename"]
			}
			rd.addText(name, data)
		case mt == "message/feedback-report":
			rd.report = true
			rd.feedback(data)
		case mt == "message/rfc822" || mt == "text/rfc822-headers":
			rd.attached(mt, data, depth)
		case strings.HasPrefix(mt, "multipart/"):
			rd.multipart(params["boundary"], data, depth+1)
		}
	}
}

// attached reads an attached message (or its headers) and walks into it: a
// report forwarded as an attachment holds the spam one level further down.
func (rd *complaintReader) attached(mt string, data []byte, depth int) {
	h, body, ok := rd.c.readHeader(data)
	if !ok {
		rd.c.warnf("%s part holds no headers", mt)
		return
	}
	if len(h["Message-Id"]) == 0 {
		h, body = rd.c.splitHeader(h, body)
	}
	if rd.original == nil || depth+1 >= rd.depth {
		rd.original = &found{h: h, headersOnly: mt == "text/rfc822-headers" || len(bytes.TrimSpace(body)) == 0}
		rd.depth = depth + 1
	}
	rd.inside++
	rd.message(h, body, depth+1)
	rd.inside--
}

// splitHeader reads on past a blank line inside an attached message's
// header: RFC 5965's own example (appendix B.2) has one after the
// Received field, which puts To, Subject and Message-ID in the body. The
// body is taken as more header when it starts with a block of header
// fields that names the message (Message-ID) and the header has no
// Content-Type yet.
func (c *Complaint) splitHeader(h mail.Header, body []byte) (mail.Header, []byte) {
	if len(h["Content-Type"]) > 0 {
		return h, body
	}
	rest := bytes.TrimLeft(body, "\r\n")
	more, tail := lenientHeader(rest)
	if len(more["Message-Id"]) == 0 {
		return h, body
	}
	for _, line := range strings.SplitN(string(rest[:len(rest)-len(tail)]), "\n", 1001) {
		name, _, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if strings.TrimSpace(line) != "" && line[0] != ' ' && line[0] != '\t' && (!ok || !headerName(name)) {
			return h, body // not all header lines: a body that mentions one
		}
	}
	merged := mail.Header{}
	for k, v := range h {
		merged[k] = v
	}
	for k, v := range more {
		merged[k] = append(merged[k], v...)
	}
	c.warnf("a blank line inside the attached message's header (as in RFC 5965's example): the fields after it read as header too")
	return merged, tail
}

// badPart notes a MIME part that could not be read. A body that ends
// inside a part was cut short on its way (some providers cut reports at a
// size): one calm warning, not the parser's.
func (rd *complaintReader) badPart(err error) {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		rd.c.warnf("bad MIME part: the complaint ends inside a part (cut short on its way?); what came before is read")
		return
	}
	rd.c.warnf("bad MIME part: %v", err)
}

// decodeBody undoes a base64 or quoted-printable transfer encoding; on
// error it keeps what decoded.
func decodeBody(cte string, data []byte) []byte {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, bytes.NewReader(data))
	case "quoted-printable":
		r = quotedprintable.NewReader(bytes.NewReader(data))
	default:
		return data
	}
	out, _ := io.ReadAll(r)
	return out
}

// feedback reads the fields of a message/feedback-report part, a header
// block (RFC 5965 section 3.1).
func (rd *complaintReader) feedback(data []byte) {
	c := rd.c
	tp := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(data), strings.NewReader("\r\n\r\n"))))
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		lh, _ := lenientHeader(data)
		h = textproto.MIMEHeader(lh)
		c.warnf("malformed feedback report, read leniently: %v", err)
	}
	get := func(k string) string { return strings.TrimSpace(h.Get(k)) }
	c.FeedbackType = strings.ToLower(get("Feedback-Type"))
	if v := get("Original-Mail-From"); v != "" {
		c.OriginalMailFrom = bareAddress(v)
	}
	for _, v := range h.Values("Original-Rcpt-To") {
		// One address per field says RFC 5965; some put a list in one.
		for _, a := range strings.Split(v, ",") {
			if a := bareAddress(a); a != "" && !slices.Contains(c.OriginalRcptTo, a) {
				c.OriginalRcptTo = append(c.OriginalRcptTo, a)
			}
		}
	}
	date := get("Arrival-Date")
	if date == "" {
		date = get("Received-Date") // the draft's name, still sent by some
	}
	if date != "" {
		switch t, err := parseDate(date); {
		case err == nil:
			c.ArrivalDate = t
		case errors.Is(err, errUnknownZone):
			c.ArrivalDate = t
			c.warnf("Arrival-Date %q: %v", date, err)
		default:
			c.warnf("bad Arrival-Date %q", date)
		}
	}
	if v := get("Source-IP"); v != "" && !redacted(v) {
		if a, ok := parseIP(v); ok {
			c.SourceIP, c.SourceIPFrom = a, "Source-IP"
		} else {
			c.warnf("bad Source-IP %q", v)
		}
	}
	c.ReportedDomain = strings.ToLower(get("Reported-Domain"))
}

// redacted reports whether a feedback field's value was blanked out by
// the reporter ("x.x.x.x", "redacted"): nothing to read, nothing wrong.
func redacted(v string) bool {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), "[]<>"))
	return strings.Contains(v, "redacted") || strings.Trim(v, "x.:") == "" || v == "unknown"
}

// fromHeader takes the keys from the header of the message complained about.
func (c *Complaint) fromHeader(h mail.Header) {
	c.MessageID = messageID(h.Get("Message-Id"))
	c.Subject = decodeWords(h.Get("Subject"))
	c.From = addresses(h, "From")
	c.To = append(addresses(h, "To"), addresses(h, "Cc")...)
	c.ReturnPath = bareAddress(h.Get("Return-Path"))
	if d := h.Get("Date"); d != "" {
		if t, err := parseDate(d); err == nil || errors.Is(err, errUnknownZone) {
			c.Date = t
		}
	}
	for i, v := range h["Received"] {
		if i == maxReceived {
			c.warnf("only the first %d of %d Received headers read", maxReceived, len(h["Received"]))
			break
		}
		c.Received = append(c.Received, ParseReceived(v))
	}
}

func decodeWords(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// messageID returns the first <...> of a Message-ID header, without the
// brackets, as the logs store it. Inside brackets it keeps spaces (Hotmail
// passes on ids like "<vr, 11 okt 2019 12:04:05 +0200T12:04:05.115@x>",
// folding whitespace made one space); without brackets the first word.
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			id := strings.Join(strings.Fields(v[i+1:i+j]), " ")
			return strings.NewReplacer("<", "", ">", "").Replace(id)
		}
	}
	if f := strings.Fields(v); len(f) > 0 {
		return strings.NewReplacer("<", "", ">", "").Replace(f[0])
	}
	return ""
}

// addresses returns the addresses of header k, lower-cased; when the list
// does not parse, anything that looks like an address.
func addresses(h mail.Header, k string) []string {
	v := h.Get(k)
	if v == "" {
		return nil
	}
	var out []string
	if list, err := (&mail.AddressParser{WordDecoder: new(mime.WordDecoder)}).ParseList(v); err == nil {
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
		return out
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if a := bareAddress(f); strings.Contains(a, "@") {
			out = append(out, a)
		}
	}
	return out
}

// bareAddress returns the address in "<a@b>", "Name <a@b>" or "a@b",
// lower-cased; "<>" is "".
func bareAddress(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'<>`))
}

// parseIP accepts "192.0.2.1", "[192.0.2.1]" and "[IPv6:2001:db8::1]".
func parseIP(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		s = s[5:]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// ParseReceived takes apart one Received header:
//
//	from helo.example (rdns.example [192.0.2.9]) by mail.corp.example (Postfix) with ESMTP id 4B49DBC34B for <u@corp.example>; Fri, 27 Nov 2026 19:27:54 +0000 (UTC)
//
// It understands Postfix's, Exim's ("from [192.0.2.9] (helo=x) by mx with
// esmtps (TLS1.3) tls ... (Exim 4.96) (envelope-from <a@b>) id
// 1rAbcD-000123-AB") and Exchange's ("from x (192.0.2.9) by mx (10.0.0.6)
// with Microsoft SMTP Server (version=TLS1_2, ...) id 15.1.2507.44 via
// Frontend Transport") shapes as far as they share RFC 5321's clauses;
// fields it cannot find stay empty.
func ParseReceived(v string) Received {
	var r Received
	v = strings.Join(strings.Fields(v), " ")
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		if t, err := parseDate(v[i+1:]); err == nil || errors.Is(err, errUnknownZone) {
			r.Time = t
		}
		v = v[:i]
	}
	clause := ""
	first := map[string]bool{}
	for tok, comment := range receivedTokens(v) {
		if !comment {
			switch k := strings.ToLower(tok); k {
			case "from", "by", "via", "with", "id", "for":
				clause = k
				continue
			}
		}
		isFirst := !first[clause]
		first[clause] = true
		switch clause {
		case "from":
			if comment {
				r.fromComment(tok)
			} else if isFirst {
				// Exim's "from [192.0.2.9] (helo=x)", Yahoo's "from
				// 192.0.2.9 (EHLO x)": the client's address, unless a
				// comment names another; then it was the HELO, as in
				// Postfix's "from [192.168.1.10] (unknown [203.0.113.7])".
				if a, ok := parseIP(tok); ok {
					r.ClientIP, r.literal = a, tok
				} else {
					r.Helo = tok
				}
			}
		case "by":
			if !comment && isFirst {
				r.By = tok
			} else if u, ok := strings.CutPrefix(tok, "Authenticated sender:"); ok {
				r.AuthUser = strings.TrimSpace(u) // some Postfix put the auth note here
			} // the rest ("(Postfix)", Exchange's own address) is about the server

		case "with":
			if !comment && isFirst {
				r.With = tok
			}
		case "id":
			if !comment && isFirst {
				r.ID = strings.Trim(tok, "<>")
			}
		case "for":
			if !comment {
				for _, a := range strings.Split(tok, ",") {
					if a := bareAddress(a); a != "" && len(r.For) < maxKeys && !slices.Contains(r.For, a) {
						r.For = append(r.For, a)
					}
				}
			}
		}
	}
	// Exchange's "with Microsoft SMTP Server ... id 15.1.2507.44" and
	// "with mapi id 15.01.2507.044" give the server's build, not a queue
	// id: Exchange names none in Received headers, so the message is found
	// by its Message-ID.
	switch strings.ToLower(r.With) {
	case "microsoft":
		r.With, r.ID = "Microsoft SMTP Server", ""
	case "mapi":
		r.ID = ""
	}
	r.literal = ""
	return r
}

// fromComment reads "(rdns.example [192.0.2.9])", "(unknown [192.0.2.9])",
// Exim's "([192.0.2.9] helo=x)", Exchange's "(192.0.2.9)" and Postfix's
// "(Authenticated sender: alice)".
func (r *Received) fromComment(c string) {
	if u, ok := strings.CutPrefix(c, "Authenticated sender:"); ok {
		r.AuthUser = strings.TrimSpace(u)
		return
	}
	fs := strings.Fields(c)
	if len(fs) == 2 && (strings.EqualFold(fs[0], "HELO") || strings.EqualFold(fs[0], "EHLO")) {
		// qmail, IronPort, Yahoo: "from rdns.example (HELO name) (192.0.2.9)".
		if r.Helo != "" && r.ClientName == "" {
			r.ClientName = r.Helo
		}
		r.Helo = fs[1]
		return
	}
	for _, f := range fs {
		switch {
		case strings.HasPrefix(f, "["):
			if a, ok := parseIP(f); ok && (!r.ClientIP.IsValid() || r.literal != "") {
				r.takeClient(a)
			}
		case strings.HasPrefix(strings.ToLower(f), "helo="):
			// Exim: "from rdns.example ([192.0.2.9] helo=name)" puts the
			// reverse name first and the HELO name in the comment.
			if r.ClientName == "" && r.Helo != "" {
				r.ClientName = r.Helo
			}
			r.Helo = f[5:]
		default:
			if a, ok := parseIP(f); ok && (!r.ClientIP.IsValid() || r.literal != "") {
				r.takeClient(a)
			} else if !ok && r.ClientName == "" && !r.ClientIP.IsValid() && strings.Contains(f, ".") {
				r.ClientName = f
			}
		}
	}
}

// takeClient sets the client address named in a comment: an address
// the "from" word gave was the HELO.
func (r *Received) takeClient(a netip.Addr) {
	if r.literal != "" && r.Helo == "" {
		r.Helo = r.literal
	}
	r.ClientIP, r.literal = a, ""
}

// receivedTokens yields the words of a Received header outside comments
// and, as one token each, the text of top-level comments.
func receivedTokens(v string) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		depth, start := 0, -1
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c == '(':
				if depth == 0 {
					if start >= 0 {
						if !yield(v[start:i], false) {
							return
						}
						start = -1
					}
					start = i + 1
				}
				depth++
			case c == ')' && depth > 0:
				depth--
				if depth == 0 {
					if !yield(strings.TrimSpace(v[start:i]), true) {
						return
					}
					start = -1
				}
			case depth == 0 && c == ' ':
				if start >= 0 {
					if !yield(v[start:i], false) {
						return
					}
					start = -1
				}
			case depth == 0 && start < 0:
				start = i
			}
		}
		if start >= 0 && start <= len(v) {
			yield(strings.TrimSpace(v[start:]), depth > 0)
		}
	}
}
