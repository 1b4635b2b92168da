package exim

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// reject parses a refusal by an ACL. The same line goes to the mainlog and
// the rejectlog. Exim does not log the SMTP reply code, so DSN stays empty;
// Reason is the stage and the message ("RCPT: relay not permitted").
//
//	H=(smtp.example.net) [127.124.6.40] F=<yrossi@gmail.example> rejected RCPT <fkhan@bouncy.example>: relay not permitted
//	H=relay.isp.example [127.220.121.180]:45555 I=[127.0.0.1]:25 F=<gina@corp.example> rejected RCPT <kbrown@outside.example>: relay not permitted
//	H=(helo) [192.0.2.7] F=<a@b.example> temporarily rejected RCPT <c@d.example>: greylisted
//	H=(helo) [192.0.2.7] rejected MAIL <a@b.example>: Access denied
//	1rAbcD-000123-AB H=(helo) [192.0.2.7] F=<a@b.example> rejected after DATA: spam
//
// Other lines with the same prefix ("sender verify fail", "Warning:")
// return dst unchanged.
func (p *Parser) reject(dst []parsers.Event, ev parsers.Event, body string) []parsers.Event {
	rest := body
	temporary := false
	for {
		var f field
		f, rest = nextField(rest)
		if f.bare {
			if f.val == "incomplete" && strings.HasPrefix(rest, " transaction ") {
				return incomplete(dst, ev, rest[len(" transaction "):], &p.ab)
			}
			if f.val == "temporarily" && strings.HasPrefix(rest, " rejected ") {
				temporary = true
				rest = rest[len(" rejected "):]
				break
			}
			if f.val == "rejected" {
				rest = strings.TrimPrefix(rest, " ")
				break
			}
			return dst
		}
		switch f.key {
		case "":
			return dst
		case "H":
			h, r, ok := parseHost(rest)
			if !ok {
				return dst
			}
			rest = r
			ev.ClientName, ev.ClientIP, ev.Helo = h.name, h.ip, helo(h)
			p.ab.keepHost(h)
		case "F":
			ev.From = angle(f.val)
		case "A":
			ev.SASLMethod, ev.SASLUser = authField(&p.ab, f.val)
		case "Ci":
			ev.Session = f.val
		default:
			p.ab.add(f.key, f.val) // I=, U=, X=, CV=, DN=, SNI=, PRX= ...
		}
	}
	var stage, text string
	switch {
	case strings.HasPrefix(rest, "RCPT "):
		stage = "RCPT"
		ev.Rcpt, text = bracketed(rest[len("RCPT "):])
	case strings.HasPrefix(rest, "MAIL "):
		stage = "MAIL"
		ev.From, text = bracketed(rest[len("MAIL "):])
	default:
		// "after DATA: ...", "EHLO or HELO x: ...", "connection in
		// \"connect\" ACL: ...", "DATA: ...", "AUTH ...: ..."
		var found bool
		stage, text, found = strings.Cut(rest, ": ")
		if !found {
			stage, text = strings.TrimSuffix(rest, ":"), ""
		}
	}
	if temporary {
		stage = "temporarily " + stage
	}
	ev.Kind = parsers.KindReject
	ev.Attrs = p.ab.attrs(ev.Attrs)
	ev.Reason = stage
	if text != "" {
		ev.Reason += ": " + text
	}
	p.lastReject, p.haveReject = ev, true
	return append(dst, ev)
}

// incomplete parses the line of log_selector +smtp_incomplete_transaction:
// a transaction ended by RSET, QUIT, a lost connection or another MAIL
// before any message was accepted, with the sender and the recipients the
// server had accepted (evidence of address harvesting, and of a relay
// tested without a message). s follows "incomplete transaction ".
//
//	H=(x) [192.0.2.7]:4711 I=[192.0.2.1]:25 incomplete transaction (RSET) from <a@b.example> for c@corp.example d@corp.example
//
// Each recipient becomes a KindRcpt without a queue id (no message came of
// it); a transaction that had none a KindSender.
func incomplete(dst []parsers.Event, ev parsers.Event, s string, a *attrBuf) []parsers.Event {
	ev.Attrs = a.attrs(ev.Attrs)
	why, rest := word(s)
	ev.Reason = "incomplete transaction " + why
	rest = strings.TrimLeft(rest, " ")
	if r, ok := strings.CutPrefix(rest, "from "); ok {
		var a string
		a, rest = readAddr(r)
		ev.From = angle(a)
	}
	rest = strings.TrimLeft(rest, " ")
	r, ok := strings.CutPrefix(rest, "for ")
	if !ok {
		ev.Kind = parsers.KindSender
		return append(dst, ev)
	}
	for r = strings.TrimLeft(r, " "); r != ""; r = strings.TrimLeft(r, " ") {
		var a string
		a, r = readAddr(r)
		if a == "" {
			break
		}
		rc := ev
		rc.Kind, rc.Rcpt = parsers.KindRcpt, angle(a)
		dst = append(dst, rc)
	}
	return dst
}

// bracketed splits "<a@b>: text" into the address and the text. Exim cuts
// long addresses short without the closing bracket ("<a.very.long...sub02-:
// relay not permitted"), and source routes hold colons
// ("<@corp.example:info@victim.example>").
func bracketed(s string) (addr, text string) {
	if strings.HasPrefix(s, "<") {
		if end := strings.Index(s, ">: "); end >= 0 {
			return s[1:end], s[end+3:]
		}
		if strings.HasSuffix(s, ">") || strings.HasSuffix(s, ">:") {
			return s[1:strings.LastIndexByte(s, '>')], ""
		}
		a, t, _ := strings.Cut(s[1:], ": ")
		return a, t
	}
	a, t, _ := strings.Cut(s, ": ")
	return a, t
}

// dump parses a line without a stamp: part of the envelope and header dump
// a rejectlog writes after a reject line, when the message's header had
// been read (log.c, log_write):
//
//	Envelope-from: <a@b.example>
//	Envelope-to: <c@d.example>
//	    <e@f.example>
//	    ...
//	P Received: from [192.0.2.7] (helo=x)
//	        by mail.corp.example with esmtp (Exim 4.96)
//	I Message-ID: <x@y>
//	  Subject: hello
//
// Each header line starts with its type (' ' for none, '*' if removed) and
// a space; a continuation starts with white space. The envelope recipients
// (up to five) are those of a message refused after DATA: each becomes a
// KindReject like the reject line before them, since nothing was accepted
// for them. Other lines of the dump return ErrUnsupported.
//
// line is the text of the line, raw the line as read (they differ for a
// line that came through syslog: see syslog.go).
func (p *Parser) dump(dst []parsers.Event, line, raw string, pos parsers.Pos) ([]parsers.Event, error) {
	switch {
	case line == "":
		return dst, parsers.ErrUnsupported
	case strings.HasPrefix(line, "Envelope-to: "):
		p.envelope = true
		return p.envelopeRcpt(dst, line[len("Envelope-to: "):], raw, pos)
	case p.envelope && strings.HasPrefix(line, "    <"):
		return p.envelopeRcpt(dst, line[4:], raw, pos)
	case strings.HasPrefix(line, "Envelope-from: "), line == "*** truncated ***":
		return dst, parsers.ErrUnsupported
	case line[0] == ' ' || line[0] == '\t':
		return dst, parsers.ErrUnsupported
	case len(line) >= 2 && line[1] == ' ' && strings.IndexByte("BCFIPRST*", line[0]) >= 0:
		p.envelope = false
		return dst, parsers.ErrUnsupported
	}
	return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errNoStamp}
}

// envelopeRcpt turns one recipient of a rejectlog dump into a refusal.
func (p *Parser) envelopeRcpt(dst []parsers.Event, s, raw string, pos parsers.Pos) ([]parsers.Event, error) {
	s = strings.TrimSpace(s)
	if !p.haveReject || p.lastReject.Rcpt != "" || len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return dst, parsers.ErrUnsupported
	}
	ev := p.lastReject
	ev.Pos, ev.Raw, ev.Rcpt = pos, raw, s[1:len(s)-1]
	return append(dst, ev), nil
}
