package postfix

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// journalEntry is the part of a journalctl -o json line we read. journald
// exports MESSAGE as a JSON array of bytes when it is not valid UTF-8.
type journalEntry struct {
	Message    json.RawMessage `json:"MESSAGE"`
	Identifier string          `json:"SYSLOG_IDENTIFIER"`
	PID        string          `json:"_PID"`
	SyslogPID  string          `json:"SYSLOG_PID"`
	Hostname   string          `json:"_HOSTNAME"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"` // µs since the epoch
}

// journalJSON parses one line of journalctl -o json (or json-seq without the
// record separator) into the syslog header and message.
func (p *Parser) journalJSON(line []byte) (h header, msg string, ts time.Time, err error) {
	var e journalEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return h, "", ts, fmt.Errorf("%w: %v", errBadJSON, err)
	}
	switch {
	case len(e.Message) > 0 && e.Message[0] == '"':
		if err := json.Unmarshal(e.Message, &msg); err != nil {
			return h, "", ts, fmt.Errorf("%w: MESSAGE: %v", errBadJSON, err)
		}
	case len(e.Message) > 0 && e.Message[0] == '[':
		var b []byte
		var ints []int
		if err := json.Unmarshal(e.Message, &ints); err != nil {
			return h, "", ts, fmt.Errorf("%w: MESSAGE: %v", errBadJSON, err)
		}
		for _, c := range ints {
			if c < 0 || c > 255 {
				return h, "", ts, fmt.Errorf("%w: MESSAGE: byte %d out of range", errBadJSON, c)
			}
			b = append(b, byte(c))
		}
		msg = string(b)
	default:
		return h, "", ts, fmt.Errorf("%w: no MESSAGE", errBadJSON)
	}
	us, err := strconv.ParseInt(e.Realtime, 10, 64)
	if err != nil {
		return h, "", ts, fmt.Errorf("%w: __REALTIME_TIMESTAMP %q", errBadJSON, e.Realtime)
	}
	h.tag = e.Identifier
	for i := len(h.tag) - 1; i >= 0; i-- {
		if h.tag[i] == '/' {
			h.daemon = h.tag[i+1:]
			break
		}
	}
	h.host = e.Hostname
	h.pid = e.PID
	if h.pid == "" {
		h.pid = e.SyslogPID
	}
	return h, msg, time.UnixMicro(us).UTC(), nil
}
