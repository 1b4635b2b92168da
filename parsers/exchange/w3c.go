package exchange

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// w3cSession is one client's run of rows in an IIS SMTP W3C log.
type w3cSession struct {
	id, helo, from string
	rcpts          int
}

// w3cRow parses one row of the IIS SMTP service's W3C extended log, the SMTP
// log of Exchange 2000/2003:
//
//	2006-10-09 05:00:16 24.118.118.106 36A42160 SMTPSVC1 MEE-PDC 192.168.1.2 0 RCPT - +TO:+<pamb@meelift.com> 250 0 29 27 0 SMTP - - - -
//
// Fields are space-separated, "-" is empty and "+" stands for a space in a
// value. W3C times are UTC. The reply text is not logged, only sc-status.
func (p *Parser) w3cRow(dst []parsers.Event, ev parsers.Event, line []byte) ([]parsers.Event, error) {
	rec := strings.Fields(string(line))
	if len(rec) != len(p.fields) {
		return dst, fmt.Errorf("%w: %d, want %d", errFieldCount, len(rec), len(p.fields))
	}
	get := func(name string) string {
		v := p.get(rec, name)
		if v == "-" {
			return ""
		}
		return strings.TrimSpace(strings.ReplaceAll(v, "+", " "))
	}
	var err error
	ev.Time, err = time.Parse("2006-01-02 15:04:05", get("date")+" "+get("time"))
	if err != nil {
		return dst, errBadTime
	}
	if ev.Host == "" {
		ev.Host = shortHost(get("s-computername"))
	}
	ip := get("c-ip")
	ev.ClientIP, err = endpoint(ip)
	if err != nil {
		return dst, err
	}
	user := get("cs-username")
	if user == "OutboundConnectionCommand" || user == "OutboundConnectionResponse" {
		return dst, nil // this server's own outbound SMTP
	}
	status, _ := strconv.Atoi(get("sc-status"))
	method := strings.ToUpper(get("cs-method"))
	query := get("cs-uri-query")

	if p.w3c == nil || len(p.w3c) > maxSessions {
		p.w3c = make(map[string]*w3cSession)
	}
	s := p.w3c[ip]
	if s == nil {
		p.w3cSeq++
		s = &w3cSession{id: ip + "#" + strconv.Itoa(p.w3cSeq)}
		p.w3c[ip] = s
	}
	if user != "" && (method == "HELO" || method == "EHLO" || s.helo == "") {
		s.helo = user
	}
	fill := func(k parsers.Kind) parsers.Event {
		e := ev
		e.Kind, e.Session, e.Helo, e.From = k, s.id, s.helo, s.from
		return e
	}
	bad := status >= 400
	switch method {
	case "HELO", "EHLO":
		if query != "" {
			s.helo = query
		}
		return append(dst, fill(parsers.KindHelo)), nil
	case "MAIL":
		s.from, s.rcpts = pathArg(query), 0
		if bad {
			e := fill(parsers.KindReject)
			e.Reason = "MAIL: sc-status " + strconv.Itoa(status)
			return append(dst, e), nil
		}
	case "RCPT":
		e := fill(parsers.KindRcpt)
		e.Rcpt = pathArg(query)
		if bad {
			e.Kind = parsers.KindReject
			e.Reason = "sc-status " + strconv.Itoa(status)
		} else {
			s.rcpts++
		}
		return append(dst, e), nil
	case "DATA", "BDAT":
		if status == 250 {
			e := fill(parsers.KindClient)
			e.MessageID, e.NRcpt = addr(query), s.rcpts
			s.from, s.rcpts = "", 0
			return append(dst, e), nil
		}
	case "AUTH":
		switch {
		case status == 235:
			e := fill(parsers.KindAuth)
			e.SASLUser = UnknownUser
			return append(dst, e), nil
		case bad:
			e := fill(parsers.KindAuthFailed)
			e.Reason = "sc-status " + strconv.Itoa(status)
			return append(dst, e), nil
		}
	case "QUIT":
		delete(p.w3c, ip)
		return append(dst, fill(parsers.KindDisconnect)), nil
	}
	return dst, nil
}
