package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

var errBadJSON = errors.New("bad message trace JSON record")

// traceColumns reports whether s is the header row of an Exchange Online
// Get-MessageTrace CSV export (Export-Csv; columns in any order).
func traceColumns(s string) ([]string, bool) {
	if !strings.Contains(s, "RecipientAddress") || !strings.Contains(s, "Received") {
		return nil, false
	}
	cols, err := splitCSV([]byte(s))
	if err != nil || !contains(cols, "RecipientAddress") || !contains(cols, "Received") {
		return nil, false
	}
	return cols, true
}

// traceHeader takes line as a trace export's header row if it is one. A
// JSON record (the Reporting API's form) needs no header.
func (p *Parser) traceHeader(line []byte) bool {
	if cols, ok := traceColumns(string(line)); ok {
		p.setFields(LogTrace, cols)
		return true
	}
	if len(line) > 0 && line[0] == '{' && bytes.Contains(line, []byte(`"MessageTraceId"`)) {
		p.log = LogTrace
	}
	return false
}

// trace parses one Get-MessageTrace record, a CSV row or a JSON object:
//
//	{"FromIP":"81.2.69.144","MessageId":"<a2@x>","Received":"2022-09-05T18:10:13.4907658","RecipientAddress":"l@w.example","SenderAddress":"n@m.example","Size":87891,"Status":"Delivered","ToIP":"216.160.83.56",...}
func (p *Parser) trace(dst []parsers.Event, ev parsers.Event, line []byte) ([]parsers.Event, error) {
	var get func(string) string
	if line[0] == '{' && p.fields == nil {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return dst, errBadJSON
		}
		get = func(k string) string {
			switch v := m[k].(type) {
			case string:
				return v
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			}
			return ""
		}
	} else {
		if p.fields == nil {
			return dst, errNoFields
		}
		rec, err := p.record(line)
		if err != nil {
			return dst, err
		}
		get = func(k string) string { return p.get(rec, k) }
	}
	t, err := traceTime(get("Received"))
	if err != nil {
		return dst, err
	}
	ev.Time = t
	ev.Kind = parsers.KindDelivery
	ev.MessageID = addr(get("MessageId"))
	ev.From = addr(get("SenderAddress"))
	ev.Rcpt = addr(get("RecipientAddress"))
	ev.ClientIP, _ = endpoint(get("FromIP"))
	if ip := get("ToIP"); ip != "" {
		ev.Relay = "[" + ip + "]"
	}
	ev.Size, _ = strconv.ParseInt(get("Size"), 10, 64)
	ev.QueueID = get("MessageTraceId")
	status := get("Status")
	switch strings.ToLower(status) {
	case "delivered":
		ev.Status = parsers.StatusSent
	case "failed":
		ev.Status = parsers.StatusBounced
	case "pending":
		ev.Status = parsers.StatusDeferred
	default:
		ev.Status = strings.ToLower(status)
	}
	ev.Reason = status
	return append(dst, ev), nil
}

// traceTime parses Received: UTC without a zone ("2022-09-05T18:10:13.49"),
// RFC 3339, or Export-Csv's US form ("9/5/2022 6:10:13 PM").
func traceTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "1/2/2006 3:04:05 PM", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errBadTime
}
