package schema

import (
	"net/netip"
	"strconv"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// An event's detail column holds, in one value, the parsed fields no query
// filters on: one bound value instead of fourteen, and each bound value is
// a cgo call, for an event per log line. Each field is its length in bytes
// in decimal, ':' and its bytes, in the order appendDetail writes them;
// migration 0006 builds the same encoding in SQL from the old columns. A
// new field goes at the end: a shorter, older value leaves it empty.

// appendDetail appends ev's detail value to b.
func appendDetail(b []byte, ev *parsers.Event) []byte {
	for _, s := range [...]string{ev.Session, ev.Helo, ev.Proto, ev.From, ev.Rcpt, ev.OrigRcpt, ev.Relay,
		ev.Status, ev.DSN, ev.Reason} {
		b = appendField(b, s)
	}
	b = appendNumField(b, ev.Size)
	b = appendNumField(b, int64(ev.NRcpt))
	b = appendField(b, origClient(ev))
	b = appendField(b, ev.OrigClientName)
	if ev.Attrs == "" {
		return b
	}
	return appendField(b, ev.Attrs)
}

func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendNumField(b []byte, n int64) []byte {
	var num [20]byte
	v := strconv.AppendInt(num[:0], n, 10)
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, ':')
	return append(b, v...)
}

// decodeDetail sets ev's detail fields from b.
func decodeDetail(b []byte, ev *parsers.Event) error {
	return (&eventDecoder{}).detail(b, ev)
}

// detail sets ev's detail fields from b: with d.counting, only those
// report traffic counts from (sender, recipient, status, reason, size).
func (d *eventDecoder) detail(b []byte, ev *parsers.Event) error {
	var f [15][]byte
	for i := 0; i < len(f) && len(b) > 0; i++ {
		v, rest, err := nextField(b)
		if err != nil {
			return err
		}
		f[i], b = v, rest
	}
	ev.From, ev.Rcpt, ev.Status, ev.Reason = string(f[3]), string(f[4]), d.name(f[7]), string(f[9])
	ev.Size = atoi(f[10])
	if d.counting {
		return nil
	}
	ev.Session, ev.Helo, ev.Proto, ev.OrigRcpt, ev.Relay, ev.DSN = string(f[0]), string(f[1]), string(f[2]), string(f[5]), string(f[6]), string(f[8])
	ev.NRcpt = int(atoi(f[11]))
	ev.OrigClientIP, _ = netip.ParseAddr(string(f[12]))
	ev.OrigClientName, ev.Attrs = string(f[13]), string(f[14])
	return nil
}
