package exchange

import (
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// systemSender is the local part Exchange uses as the sender of the NDRs and
// other DSNs it generates (message-tracking.md, "DSN").
const systemSender = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"

// maxRedirects bounds the recipient rewrites remembered per file.
const maxRedirects = 1 << 14

type redirectKey struct{ queueID, rcpt string }

// trackerName is the Daemon of a tracking file, from its name: MSGTRK is the
// Transport service, MSGTRKMD Mailbox Transport Delivery, MSGTRKMS Mailbox
// Transport Submission, MSGTRKMA moderated transport (configure-message-
// tracking.md).
func trackerName(path string) string {
	base := strings.ToUpper(baseName(path))
	for _, s := range []string{"MSGTRKMD", "MSGTRKMS", "MSGTRKMA"} {
		if strings.HasPrefix(base, s) {
			return strings.ToLower(s)
		}
	}
	return "msgtrk"
}

// tracking parses one message tracking row (see the package doc).
func (p *Parser) tracking(dst []parsers.Event, ev parsers.Event, line []byte) ([]parsers.Event, error) {
	rec, err := p.record(line)
	if err != nil {
		return dst, err
	}
	get := func(i int) string { return at(rec, i) }
	ev.Time, err = stamp(get(p.c.dateTime))
	if err != nil {
		return dst, err
	}
	eventID := strings.ToUpper(get(p.c.eventID))
	source := strings.ToUpper(get(p.c.source))
	outbound := source == "SMTP" && (eventID == "SEND" || eventID == "SENDEXTERNAL" ||
		eventID == "FAIL" || eventID == "DEFER")
	if ev.Host == "" {
		local, other := get(p.c.serverHostname), get(p.c.clientHostname)
		if outbound {
			local, other = other, local
		}
		if local == "" {
			local = other
		}
		ev.Host = p.shortHost(local)
	}
	ev.QueueID = get(p.c.internalMessageID)
	if eventID == "TRANSFER" || eventID == "RESUBMIT" {
		// The row is the new copy's (its own internal-message-id) and
		// names the one it came from in reference: recipients moved to a
		// fork (content conversion, recipient limits, an agent), or a
		// copy resubmitted from Safety Net or a shadow. Later rows of the
		// copy are the original message's (see alias).
		if ref := get(p.c.reference); ref != "" && isDigits(ref) && ref != ev.QueueID {
			p.setAlias(ev.QueueID, ref)
		}
	}
	if orig := p.alias[ev.QueueID]; orig != "" {
		ev.QueueID = orig
	}
	ev.MessageID = addr(get(p.c.messageID))
	ev.From = addr(get(p.c.returnPath))
	if p.c.returnPath < 0 || get(p.c.returnPath) == "" {
		ev.From = addr(get(p.c.senderAddress))
	}
	ev.Size, _ = strconv.ParseInt(get(p.c.totalBytes), 10, 64)
	ev.NRcpt, _ = strconv.Atoi(get(p.c.recipientCount))
	p.trackingAttrs(&ev, rec)
	rcpts := splitList(get(p.c.recipientAddress))
	statuses := pairStatuses(splitList(get(p.c.recipientStatus)), len(rcpts))

	switch eventID {
	case "RECEIVE":
		return p.receive(dst, ev, rec, source, rcpts), nil
	case "SEND", "SENDEXTERNAL":
		relay := relayName(get(p.c.serverHostname), get(p.c.serverIP))
		for i, r := range rcpts {
			d := ev
			d.Kind = parsers.KindDelivery
			d.Rcpt, d.OrigRcpt, d.Relay = r, p.redirect[redirectKey{ev.QueueID, strings.ToLower(r)}], relay
			code, dsn, text := statusReply(statuses[i])
			d.Status, d.DSN, d.Reason = statusOf(code, parsers.StatusSent), dsn, text
			dst = append(dst, d)
		}
	case "DELIVER", "FAIL", "DELIVERFAIL", "DEFER", "DROP", "BADMAIL":
		relay, status := "local", parsers.StatusSent
		switch eventID {
		case "FAIL", "DELIVERFAIL":
			status = parsers.StatusBounced
		case "DEFER":
			status = parsers.StatusDeferred
		case "DROP", "BADMAIL":
			// DROP: discarded without delivery or NDR (an agent, a
			// transport rule); BADMAIL: a pickup or replay directory
			// message that could be neither delivered nor returned.
			relay, status = "none", StatusDropped
		}
		if eventID != "DELIVER" && eventID != "DROP" && eventID != "BADMAIL" {
			relay = "none"
			if source == "SMTP" && get(p.c.serverIP) != "" {
				relay = relayName(get(p.c.serverHostname), get(p.c.serverIP))
			}
		}
		for i, r := range rcpts {
			d := ev
			d.Kind = parsers.KindDelivery
			d.Rcpt, d.OrigRcpt, d.Relay, d.Status = r, p.redirect[redirectKey{ev.QueueID, strings.ToLower(r)}], relay, status
			_, d.DSN, d.Reason = statusReply(statuses[i])
			dst = append(dst, d)
		}
	case "REDIRECT", "RESOLVE", "EXPAND":
		orig := addr(get(p.c.relatedRecipientAddress))
		for _, r := range rcpts {
			d := ev
			d.Kind = parsers.KindRcpt
			d.Rcpt, d.OrigRcpt, d.Reason = r, orig, eventID
			dst = append(dst, d)
			if orig != "" && !strings.EqualFold(orig, r) {
				if p.redirect == nil || len(p.redirect) >= maxRedirects {
					p.redirect = make(map[redirectKey]string)
				}
				// Copies: the fields share the line, and the map outlives it.
				k := redirectKey{strings.Clone(ev.QueueID), strings.Clone(strings.ToLower(r))}
				p.redirect[k] = strings.Clone(orig)
			}
		}
	case "LOAD", "POISONMESSAGE":
		// The transport service's own life shows in the tracking log only
		// through the messages it finds on starting: LOAD is "a message
		// was successfully loaded at boot" (from the queue database, after
		// the service started), POISONMESSAGE "a message was put in the
		// poison message queue or removed from it" (the service failed
		// while handling it) (message-tracking.md, "Event types").
		ev.Kind, ev.Status = parsers.KindServer, parsers.ServerStart
		ev.Reason = "transport service started: message " + ev.QueueID + " loaded from the queue (LOAD)"
		if eventID == "POISONMESSAGE" {
			ev.Status = parsers.ServerError
			ev.Reason = "message " + ev.QueueID + " put in or removed from the poison message queue: the transport service failed while handling it (POISONMESSAGE)"
		}
		return append(dst, ev), nil
	case "DSN":
		ref := addr(get(p.c.reference))
		b := ev
		b.Kind = parsers.KindBounce
		sender := get(p.c.senderAddress)
		if ev.From == "" || strings.HasPrefix(strings.ToLower(sender), strings.ToLower(systemSender)) {
			b.QueueID, b.NextQueueID, b.MessageID = "", ev.QueueID, ref
			b.Reason = "ndr=" + ev.MessageID
		} else if ref != "" {
			b.Reason = "ndr=" + ref
		}
		if len(rcpts) == 0 {
			return append(dst, b), nil
		}
		for _, r := range rcpts {
			b.Rcpt = r
			dst = append(dst, b)
		}
	default:
		// Every other event (AGENTINFO, SUBMIT, HAREDIRECT, HARECEIVE,
		// HADISCARD, TRANSFER, RESUBMIT, NOTIFYMAPI, PROCESS,
		// DUPLICATEDELIVER, MODERATORREJECT, INITMESSAGECREATED, ... and
		// ids this parser does not know) says what happened to a message
		// without changing who sent it or where it went: one KindSender
		// with the row's message facts, its event and source in Attrs
		// and the event id as Reason, so that it is kept and found by
		// queue id and Message-ID.
		if eventID == "" {
			return dst, nil
		}
		ev.Kind = parsers.KindSender
		ev.Reason = eventID
		return append(dst, ev), nil
	}
	return dst, nil
}

// maxAliases bounds the forked copies remembered per file.
const maxAliases = 1 << 14

// setAlias makes the rows of internal-message-id copy those of orig.
func (p *Parser) setAlias(copy, orig string) {
	if root := p.alias[orig]; root != "" {
		orig = root
	}
	if p.alias == nil || len(p.alias) >= maxAliases {
		p.alias = make(map[string]string)
	}
	p.alias[strings.Clone(copy)] = strings.Clone(orig)
}

// trackingMapped are the columns a tracking row's events hold in fields of
// their own; every other non-empty column is kept in Attrs.
var trackingMapped = map[string]bool{
	"date-time": true, "internal-message-id": true, "message-id": true, "return-path": true,
	"total-bytes": true, "recipient-count": true, "recipient-address": true, "recipient-status": true,
}

// trackingAttrs keeps in ev.Attrs, in the header's order, every non-empty
// column of rec that no Event field holds: event-id, source, connector-id,
// source-context, directionality, custom-data, message-info, reference,
// network-message-id, ... A row whose queue id is another's (a forked or
// resubmitted copy, see setAlias) keeps its own as internal-message-id.
func (p *Parser) trackingAttrs(ev *parsers.Event, rec []string) {
	b := p.attrBuf[:0]
	own := at(rec, p.c.internalMessageID)
	if own != ev.QueueID {
		b = appendAttr(b, "internal-message-id", own)
	}
	for i, name := range p.fields {
		if i >= len(rec) || rec[i] == "" || !p.attr[i] ||
			name == "sender-address" && addr(rec[i]) == ev.From {
			continue
		}
		b = appendAttr(b, name, rec[i])
	}
	ev.Attrs += string(b) // one allocation for the row, not one per item
	p.attrBuf = b
}

// appendAttr appends key=value to b as parsers.Event.AddAttr encodes it.
func appendAttr(b []byte, key, value string) []byte {
	b = strconv.AppendInt(b, int64(len(key)), 10)
	b = append(b, ':')
	b = append(b, key...)
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, ':')
	return append(b, value...)
}

// receive maps a RECEIVE row: the message entered this service.
func (p *Parser) receive(dst []parsers.Event, ev parsers.Event, rec []string, source string, rcpts []string) []parsers.Event {
	get := func(i int) string { return at(rec, i) }
	c := ev
	c.Kind = parsers.KindPickup
	if source == "SMTP" {
		c.Kind = parsers.KindClient
		sid, _, _ := strings.Cut(get(p.c.sourceContext), ";")
		c.Session = sid
	}
	c.Proto = source
	custom := get(p.c.customData)
	c.ClientName = get(p.c.clientHostname)
	c.ClientIP, _ = endpoint(get(p.c.clientIP))
	if orig, err := endpoint(get(p.c.originalClientIP)); err == nil && orig.IsValid() {
		if orig != c.ClientIP {
			c.ClientName = customField(custom, "ProxiedClientHostname")
		}
		c.ClientIP = orig
	}
	var b strings.Builder
	b.WriteString("directionality=")
	b.WriteString(get(p.c.directionality))
	b.WriteString(";connector=")
	b.WriteString(get(p.c.connectorID))
	if v := customField(custom, "FromEntity"); v != "" {
		b.WriteString(";FromEntity=")
		b.WriteString(v)
	}
	c.Reason = b.String()
	dst = append(dst, c)
	for _, r := range rcpts {
		d := ev
		d.Kind = parsers.KindRcpt
		d.Session, d.ClientIP, d.ClientName = c.Session, c.ClientIP, c.ClientName
		d.Rcpt = r
		dst = append(dst, d)
	}
	return dst
}

// customField reads key from custom-data "S:Key=Value;S:Key2=Value2" (the
// last value when it is there twice).
func customField(s, key string) string {
	value := ""
	for _, kv := range splitList(s) {
		kv = strings.TrimPrefix(kv, "S:")
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			value = v
		}
	}
	return value
}

// relayName formats the next hop as Postfix does: "host[ip]".
func relayName(host, ip string) string {
	switch {
	case host == "" && ip == "":
		return ""
	case ip == "":
		return host
	}
	return host + "[" + ip + "]"
}

// splitList splits a ';'-separated list, but not inside [...] or {...}: a
// FAIL status is "[{LED=550 5.1.1 ...; not found};{MSG=};{FQDN=};...]".
// Empty items are dropped.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 {
				if item := strings.TrimSpace(s[start:i]); item != "" {
					out = append(out, item)
				}
				start = i + 1
			}
		}
	}
	if item := strings.TrimSpace(s[start:]); item != "" {
		out = append(out, item)
	}
	return out
}

// pairStatuses returns one status per recipient. A status may itself hold
// an unbracketed ';' ("550 4.4.7 QUEUE.Expired;<text>", the documented
// example), so when there are more items than recipients, an item that does
// not start a status (SMTP code, "[", To/Cc/Bcc) is joined to the one
// before it.
func pairStatuses(items []string, n int) []string {
	if len(items) > n && n > 0 {
		var merged []string
		for _, it := range items {
			if len(merged) > 0 && !startsStatus(it) {
				merged[len(merged)-1] += ";" + it
				continue
			}
			merged = append(merged, it)
		}
		items = merged
		if n == 1 && len(items) > 1 {
			items = []string{strings.Join(items, ";")}
		}
	}
	out := make([]string, n)
	copy(out, items)
	return out
}

func startsStatus(s string) bool {
	if len(s) >= 3 && isDigits(s[:3]) || strings.HasPrefix(s, "[") {
		return true
	}
	switch s {
	case "To", "Cc", "Bcc":
		return true
	}
	return false
}

// statusReply returns the SMTP reply in a recipient status: the status
// itself, or the LED= part of a bracketed FAIL status. "To"/"Cc"/"Bcc" (the
// RECEIVE form) have no reply.
func statusReply(s string) (code int, dsn, text string) {
	if strings.HasPrefix(s, "[") {
		for _, part := range splitList(strings.Trim(s, "[]")) {
			part = strings.Trim(part, "{}")
			if v, ok := strings.CutPrefix(part, "LED="); ok {
				return reply(v)
			}
		}
		return 0, "", s
	}
	switch s {
	case "", "To", "Cc", "Bcc":
		return 0, "", ""
	}
	return reply(s)
}

// statusOf maps an SMTP reply code to a delivery status; no code means def.
func statusOf(code int, def string) string {
	switch {
	case code >= 500:
		return parsers.StatusBounced
	case code >= 400:
		return parsers.StatusDeferred
	}
	return def
}
