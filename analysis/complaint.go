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
	ComplaintARF     = "arf"     // an RFC 5965 feedback report
	ComplaintMessage = "message" // a raw message (.eml)
	ComplaintHeaders = "headers" // only the headers of a message
)

// ErrNotComplaint reports input that holds no message header at all.
var ErrNotComplaint = errors.New("no message headers found (want an ARF report, a .eml message or its headers)")

// Complaint is what an abuse report or a saved spam sample says about one
// message: the keys an investigation looks the message up by.
type Complaint struct {
	Kind         string `json:"kind"`                    // ComplaintARF, ComplaintMessage, ComplaintHeaders
	FeedbackType string `json:"feedback_type,omitempty"` // "abuse", "fraud", ... (ARF)

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
	ReportedDomain   string     `json:"reported_domain,omitempty"`

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
	ID         string     `json:"id,omitempty"` // the receiving server's queue id
	For        string     `json:"for,omitempty"`
	AuthUser   string     `json:"auth_user,omitempty"` // Postfix "(Authenticated sender: alice)"
	Time       time.Time  `json:"time"`
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
	orig := rd.original
	if orig == nil {
		orig = &found{h: h, headersOnly: len(bytes.TrimSpace(body)) == 0}
	}
	if rd.report {
		c.Kind = ComplaintARF
	} else if orig.headersOnly {
		c.Kind = ComplaintHeaders
	}
	c.fromHeader(orig.h)
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
		return
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		rd.c.warnf("bad Content-Type %q: %v", ct, err)
		return
	}
	switch {
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
			rd.c.warnf("bad MIME part: %v", err)
			return
		}
		data, err := io.ReadAll(p)
		if err != nil {
			rd.c.warnf("bad MIME part: %v", err)
		}
		ph := mail.Header(p.Header)
		data = decodeBody(ph.Get("Content-Transfer-Encoding"), data)
		mt, params, _ := mime.ParseMediaType(ph.Get("Content-Type"))
		switch {
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
	if rd.original == nil || depth+1 >= rd.depth {
		rd.original = &found{h: h, headersOnly: mt == "text/rfc822-headers" || len(bytes.TrimSpace(body)) == 0}
		rd.depth = depth + 1
	}
	rd.message(h, body, depth+1)
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
		if a := bareAddress(v); a != "" {
			c.OriginalRcptTo = append(c.OriginalRcptTo, a)
		}
	}
	date := get("Arrival-Date")
	if date == "" {
		date = get("Received-Date") // the draft's name, still sent by some
	}
	if date != "" {
		if t, err := mail.ParseDate(date); err == nil {
			c.ArrivalDate = t.UTC()
		} else {
			c.warnf("bad Arrival-Date %q", date)
		}
	}
	if v := get("Source-IP"); v != "" {
		if a, ok := parseIP(v); ok {
			c.SourceIP = a
		} else {
			c.warnf("bad Source-IP %q", v)
		}
	}
	c.ReportedDomain = strings.ToLower(get("Reported-Domain"))
}

// fromHeader takes the keys from the header of the message complained about.
func (c *Complaint) fromHeader(h mail.Header) {
	c.MessageID = messageID(h.Get("Message-Id"))
	c.Subject = decodeWords(h.Get("Subject"))
	c.From = addresses(h, "From")
	c.To = append(addresses(h, "To"), addresses(h, "Cc")...)
	c.ReturnPath = bareAddress(h.Get("Return-Path"))
	if d := h.Get("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			c.Date = t.UTC()
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
// brackets, as the logs store it.
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
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
		if t, err := mail.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
			r.Time = t.UTC()
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
				if a, ok := parseIP(tok); ok && strings.HasPrefix(tok, "[") {
					r.ClientIP = a // Exim: "from [192.0.2.9]"
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
			if !comment && isFirst {
				r.For = bareAddress(tok)
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
	for _, f := range strings.Fields(c) {
		switch {
		case strings.HasPrefix(f, "["):
			if a, ok := parseIP(f); ok && !r.ClientIP.IsValid() {
				r.ClientIP = a
			}
		case strings.HasPrefix(strings.ToLower(f), "helo="):
			// Exim: "from rdns.example ([192.0.2.9] helo=name)" puts the
			// reverse name first and the HELO name in the comment.
			if r.ClientName == "" && r.Helo != "" {
				r.ClientName = r.Helo
			}
			r.Helo = f[5:]
		default:
			if a, ok := parseIP(f); ok && !r.ClientIP.IsValid() {
				r.ClientIP = a
			} else if !ok && r.ClientName == "" && !r.ClientIP.IsValid() && strings.Contains(f, ".") {
				r.ClientName = f
			}
		}
	}
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
