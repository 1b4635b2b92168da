package schema

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Events are stored in blocks: the events of up to blockEvents lines in a
// row of one source, encoded one after another in one value. A row per
// event cost most of an ingest (a cgo call per bound value, index entries
// per line); a block is one row, and event_keys holds one entry per queue
// id, "queued as" id and Message-ID per block for the look-ups investigate
// and tail make. Failed logins and authenticated submissions, which report
// and investigate query by client and account, are also kept one per row
// in the events table.
//
// An event is a record: its length in bytes in decimal, ':', and its
// fields, each its length in decimal, ':' and its bytes, in the order of
// appendEvent. Migration 0009 builds the same records in SQL from the
// events table.

// blockEvents is the most events in one block: a look-up decodes whole
// blocks, so they stay small enough to decode in a millisecond.
const blockEvents = 2048

// appendEvent appends ev's record to b: the fields the events table has
// columns for, then the detail value (see detail.go), whose fields follow
// in the same encoding. scratch is reused for the record's fields; the
// grown scratch is returned.
func appendEvent(b, scratch []byte, ev *parsers.Event) (_, _ []byte) {
	r := scratch[:0]
	r = appendNumField(r, int64(ev.Pos.Line))
	r = appendNumField(r, ev.Pos.Offset)
	r = appendNumField(r, ev.Time.UnixMilli())
	for _, s := range [...]string{ev.Format, ev.Host, ev.Daemon, ev.Kind.String(), ev.QueueID, ev.NextQueueID,
		ev.PrevQueueID, ev.MessageID, addrString(ev), ev.ClientName, ev.SASLMethod, ev.SASLUser, ev.Raw} {
		r = appendField(r, s)
	}
	r = appendDetail(r, ev)
	b = strconv.AppendInt(b, int64(len(r)), 10)
	b = append(b, ':')
	return append(b, r...), r
}

var errBlock = errors.New("malformed event block")

// nextField splits b into its first field (length, ':', bytes) and the
// rest; blocks, their records and detail values are all such fields.
func nextField(b []byte) (field, rest []byte, err error) {
	n, colon := 0, -1
	for i := 0; i < len(b) && i <= 18; i++ { // 18 digits: no overflow
		c := b[i]
		if c == ':' {
			colon = i
			break
		}
		if c < '0' || c > '9' {
			return nil, nil, errBlock
		}
		n = n*10 + int(c-'0')
	}
	if colon <= 0 || n > len(b)-colon-1 {
		return nil, nil, errBlock
	}
	return b[colon+1 : colon+1+n], b[colon+1+n:], nil
}

// decodeEvents calls fn with each event of a block, its file set to file.
func decodeEvents(b []byte, file string, fn func(ev parsers.Event) error) error {
	return (&eventDecoder{file: file}).decode(b, fn)
}

// An eventDecoder turns blocks' records back into events.
type eventDecoder struct {
	file string
	// counting leaves out what report traffic does not count from: the
	// raw line, the client, the login, the Message-ID and the detail
	// fields other than sender, recipient, status, reason and size (see
	// detail). It
	// spares most of the decoding's allocations (the raw line is the
	// biggest field).
	counting bool
	// names holds, when not nil, the strings of the fields that take few
	// values (format, host, daemon, status), so that each is allocated
	// once rather than once per event.
	names map[string]string
}

// maxNames bounds eventDecoder.names: hosts come from the logs.
const maxNames = 4096

func (d *eventDecoder) name(b []byte) string {
	if d.names == nil {
		return string(b)
	}
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < maxNames {
		d.names[s] = s
	}
	return s
}

// atoi is the decimal number b, or 0.
func atoi(b []byte) int64 {
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}

func (d *eventDecoder) decode(b []byte, fn func(ev parsers.Event) error) error {
	for len(b) > 0 {
		rec, rest, err := nextField(b)
		if err != nil {
			return err
		}
		b = rest
		var f [16][]byte
		for i := range f {
			if f[i], rec, err = nextField(rec); err != nil {
				return err
			}
		}
		ev := parsers.Event{Pos: parsers.Pos{File: d.file, Line: int(atoi(f[0])), Offset: atoi(f[1])}}
		ev.Time = time.UnixMilli(atoi(f[2])).UTC()
		ev.Format, ev.Host, ev.Daemon, ev.Kind = d.name(f[3]), d.name(f[4]), d.name(f[5]), parsers.ParseKind(string(f[6]))
		ev.QueueID, ev.NextQueueID, ev.PrevQueueID = string(f[7]), string(f[8]), string(f[9])
		if !d.counting {
			ev.MessageID = string(f[10])
			ev.ClientIP, _ = netip.ParseAddr(string(f[11]))
			ev.ClientName, ev.SASLMethod, ev.SASLUser, ev.Raw = string(f[12]), string(f[13]), string(f[14]), string(f[15])
		}
		if err := d.detail(rec, &ev); err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

// sparse reports whether ev is also kept in a row of its own in events:
// the failed logins and authenticated submissions report and investigate
// look up by client address and account, and the server's own events
// (starts, reloads, errors) report timeline lists by time.
func sparse(ev *parsers.Event) bool {
	return ev.Kind == parsers.KindAuthFailed || (ev.Kind == parsers.KindClient && ev.SASLUser != "") ||
		ev.Kind == parsers.KindServer
}

// A block is one row of event_blocks, encoded.
type block struct {
	start, end   int // events[start:end] of the batch
	minTs, maxTs int64
	data         []byte
	keys         []blockKey
}

// A blockKey is one event_keys row: a queue id ("q"), "queued as" id
// ("n") or Message-ID ("m") of the block's events, with the time range of
// those events.
type blockKey struct {
	key          string
	minTs, maxTs int64
}

// encodeBlocks splits events into blocks.
func encodeBlocks(events []parsers.Event) []block {
	var out []block
	// recs and fields are reused for each block's records and each
	// record's fields, and kept for the next batch: grown anew for each
	// batch they were a sixth of an Exchange load's CPU (its rows are
	// long).
	bufs := blockBufs.Get().(*[2][]byte)
	defer blockBufs.Put(bufs)
	recs, fields := bufs[0], bufs[1]
	defer func() { bufs[0], bufs[1] = recs[:0], fields[:0] }()
	for start := 0; start < len(events); start += blockEvents {
		end := min(start+blockEvents, len(events))
		bl := block{start: start, end: end, minTs: events[start].Time.UnixMilli(), maxTs: events[start].Time.UnixMilli()}
		idx := map[string]int{}
		key := func(k string, ts int64) {
			if i, ok := idx[k]; ok {
				bl.keys[i].minTs, bl.keys[i].maxTs = min(bl.keys[i].minTs, ts), max(bl.keys[i].maxTs, ts)
				return
			}
			idx[k] = len(bl.keys)
			bl.keys = append(bl.keys, blockKey{key: k, minTs: ts, maxTs: ts})
		}
		recs = recs[:0]
		for i := start; i < end; i++ {
			ev := &events[i]
			ts := ev.Time.UnixMilli()
			bl.minTs, bl.maxTs = min(bl.minTs, ts), max(bl.maxTs, ts)
			recs, fields = appendEvent(recs, fields, ev)
			if ev.QueueID != "" {
				key("q"+ev.QueueID, ts)
			}
			if ev.NextQueueID != "" {
				key("n"+ev.NextQueueID, ts)
			}
			if ev.MessageID != "" {
				key("m"+ev.MessageID, ts)
			}
		}
		bl.data = blockEncoder.EncodeAll(recs, make([]byte, 0, len(recs)/4))
		out = append(out, bl)
	}
	return out
}

// blockBufs holds encodeBlocks' buffers between batches (a batch is
// encoded on the committer's encoder goroutine, or tail's, or rejudge's).
var blockBufs = sync.Pool{New: func() any { return new([2][]byte) }}

// Blocks are compressed with zstd at its fastest level (about a sixth of
// the size of the records, at several hundred MB/s). A block that does not
// start with zstd's magic number holds the records as they are: migration
// 0009 writes those. A 1 MB window instead of the fastest level's 8 MB: a
// block's records repeat each other within a few lines, and the encoder's
// history is memory held for the whole run.
var (
	blockEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20))
	blockDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	zstdMagic       = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// blockRecords returns the records of a stored block.
func blockRecords(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, zstdMagic) {
		return data, nil
	}
	return blockDecoder.DecodeAll(data, nil)
}
