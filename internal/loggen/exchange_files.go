package loggen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The files of the exchange format, in the layout of an Exchange 2013+
// server's TransportRoles\Logs folder (notes/exchange-formats.md a, b): the
// Front End's SMTP receive protocol log and the message tracking logs of
// the Transport service (MSGTRK), Mailbox Transport Delivery (MSGTRKMD) and
// Mailbox Transport Submission (MSGTRKMS). Every log starts a new file each
// UTC hour and when a file reaches exMaxFile (configure-message-tracking.md,
// configure-protocol-logging.md: 10 MB by default), named as 2013+ names
// them: RECV2026030206-1.LOG, RECV2026030206-2.LOG, MSGTRK2026030207-1.LOG.
// Each file is UTF-8 with a BOM and CRLF line ends, and starts with its five
// header lines.

// The streams of the exchange format, one per log.
const (
	exRecv  uint8 = iota // FrontEnd/ProtocolLog/SmtpReceive/RECV*.LOG
	exTrk                // MessageTracking/MSGTRK*.LOG (Transport service)
	exTrkMD              // MessageTracking/MSGTRKMD*.LOG (deliveries to mailboxes)
	exTrkMS              // MessageTracking/MSGTRKMS*.LOG (mailbox submissions)
	exStreams
)

const (
	exMaxFile     = 10 << 20 // bytes; a file at or above it is not written to again
	exHeaderLines = 5
	// exReserve is how many lines the session loop leaves unplanned: the
	// headers the lines still queued at its end may need (a stream may get
	// its first file, a new hour and a size rotation: 3 files each), and
	// room for one more file in fill.
	exReserve  = int(exStreams)*3*exHeaderLines + exHeaderLines + 1
	exMinLines = 100
)

const (
	exTrackingFields = "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version"
	exProtocolFields = "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
)

// ExchangeFiles are the folders, under Options.Dir, the exchange format
// writes its files to, and the file name prefixes, in the order of the
// streams: receive protocol log, then tracking logs.
var ExchangeFiles = []string{
	"FrontEnd/ProtocolLog/SmtpReceive/RECV",
	"MessageTracking/MSGTRK",
	"MessageTracking/MSGTRKMD",
	"MessageTracking/MSGTRKMS",
}

// exStream is one log's file being written.
type exStream struct {
	header string // the header lines after #Version (#Log-type, ...), with a %s for #Date
	f      *os.File
	w      *bufio.Writer
	hour   int64 // Unix hour of the open file
	n      int   // instance number within the hour, from 1
	size   int64
}

// exFiles writes the lines of the exchange format to their files.
type exFiles struct {
	g           *gen
	dir         string
	streams     [exStreams]exStream
	headerLines int
	lastMs      int64
	filling     bool // fill: no size rotation
	stampSec    int64
	stampB      []byte // "2006-01-02T15:04:05." of stampSec
}

func newExFiles(g *gen, dir string) *exFiles {
	f := &exFiles{g: g, dir: dir, stampSec: -1}
	recv := "#Version: 15.0.0.0\r\n#Log-type: SMTP Receive Protocol Log\r\n#Date: %s\r\n#Fields: " + exProtocolFields + "\r\n"
	trk := "#Version: " + exSchema + "\r\n#Log-type: Message Tracking Log\r\n#Date: %s\r\n#Fields: " + exTrackingFields + "\r\n"
	for i := range f.streams {
		f.streams[i].header = trk
	}
	f.streams[exRecv].header = recv
	return f
}

// reserve is Generate's reserve: the header lines written so far and room
// for those still to come.
func (f *exFiles) reserve() int { return f.headerLines + exReserve }

// write writes one line to its stream's file: the date-time field, then
// the rest of the row.
func (f *exFiles) write(l line) error {
	st := &f.streams[l.stream]
	hour := l.atMs / 3600000
	if st.w == nil || hour != st.hour || st.size >= exMaxFile && !f.filling {
		if err := f.rotate(l.stream, l.atMs); err != nil {
			return err
		}
	}
	if sec := l.atMs / 1000; sec != f.stampSec {
		f.stampSec = sec
		f.stampB = time.Unix(sec, 0).UTC().AppendFormat(f.stampB[:0], "2006-01-02T15:04:05.")
	}
	ms := l.atMs % 1000
	tail := [4]byte{byte('0' + ms/100), byte('0' + ms/10%10), byte('0' + ms%10), 'Z'}
	st.w.Write(f.stampB)
	st.w.Write(tail[:])
	st.w.WriteString(l.text)
	if _, err := st.w.WriteString("\r\n"); err != nil {
		return err
	}
	n := int64(len(f.stampB) + len(tail) + len(l.text) + 2)
	st.size += n
	f.g.stats.Bytes += n
	f.g.stats.Lines++
	f.lastMs = l.atMs
	return nil
}

// rotate closes the stream's file and starts the next one with its header.
// An hour's first file is dated at the start of the hour, as Exchange
// creates it then; a file started because the last one was full is dated
// now.
func (f *exFiles) rotate(stream uint8, atMs int64) error {
	st := &f.streams[stream]
	if err := st.close(); err != nil {
		return err
	}
	hour := atMs / 3600000
	created := atMs
	if st.n == 0 || hour != st.hour {
		st.hour, st.n = hour, 1
		created = min(atMs, hour*3600000+41+int64(stream)*13)
	} else {
		st.n++
	}
	name := filepath.Join(f.dir, filepath.FromSlash(fmt.Sprintf("%s%s-%d.LOG",
		ExchangeFiles[stream], time.Unix(hour*3600, 0).UTC().Format("2006010215"), st.n)))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	file, err := os.Create(name)
	if err != nil {
		return err
	}
	st.f, st.w = file, bufio.NewWriterSize(file, 256<<10)
	h := "\ufeff#Software: Microsoft Exchange Server\r\n" + fmt.Sprintf(st.header, stampMs(created))
	if _, err := st.w.WriteString(h); err != nil {
		return err
	}
	st.size = int64(len(h))
	f.g.stats.Bytes += int64(len(h))
	f.g.stats.Lines += exHeaderLines
	f.g.stats.Files++
	f.headerLines += exHeaderLines
	return nil
}

func (st *exStream) close() error {
	if st.f == nil {
		return nil
	}
	err := st.w.Flush()
	if cerr := st.f.Close(); err == nil {
		err = cerr
	}
	st.f, st.w = nil, nil
	return err
}

// close closes every file, returning the first error.
func (f *exFiles) close() error {
	var first error
	for i := range f.streams {
		if err := f.streams[i].close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stampMs formats a time as Exchange writes date-time: UTC, milliseconds.
func stampMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// appendField appends s as a CSV field: quoted, its quotes doubled, when it
// holds a comma, a quote or a line break or starts with a space, the rule
// of encoding/csv and of the quoted fields in Exchange's logs (220
// banners, 2.6.0 replies, source-context with commas).
func appendField(b []byte, s string) []byte {
	if s == "" || !(strings.ContainsAny(s, ",\"\r\n") || s[0] == ' ') {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
