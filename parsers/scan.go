package parsers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes is the longest line Scan hands to a parser. Longer lines are
// reported as malformed and skipped: no MTA writes a log line this long, so
// such a line is damage or an attack, and buffering it would let one line take
// unbounded memory.
const MaxLineBytes = 1 << 20

// ErrLineTooLong is the error of a ParseError for a line over MaxLineBytes.
var ErrLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineBytes)

// Stats counts what Scan read.
type Stats struct {
	Lines       int64
	Bytes       int64
	Events      int64
	Unsupported int64
	Malformed   int64
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Lines += o.Lines
	s.Bytes += o.Bytes
	s.Events += o.Events
	s.Unsupported += o.Unsupported
	s.Malformed += o.Malformed
}

// Start says where in a file Scan begins: the byte offset and the number of
// the line found there. A zero Start is the beginning of the file.
type Start struct {
	Offset int64
	Line   int // number of the line at Offset minus one; ignored if Offset is 0
}

// Scan reads lines from r, parses each with p and hands every event to emit,
// in order. Parse errors other than ErrUnsupported go to bad (which may be
// nil) and scanning goes on. An error from r or emit, or ctx being done,
// stops it. The returned Stats count every line read, including a final line
// without a newline.
func Scan(ctx context.Context, r io.Reader, file string, start Start, p Parser, emit func(Event) error, bad func(error)) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 64<<10)
	offset, lineNo := start.Offset, start.Line
	if offset == 0 {
		lineNo = 0
	}
	lineBegin := offset
	var (
		long   []byte // a line that did not fit the buffer
		dst    []Event
		tooBig bool
	)
	for {
		if st.Lines&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooBig {
				if len(long)+len(chunk) > MaxLineBytes {
					tooBig, long = true, long[:0]
				} else {
					long = append(long, chunk...)
				}
			}
			st.Bytes += int64(len(chunk))
			offset += int64(len(chunk))
			continue
		}
		if len(chunk) == 0 && err != nil && len(long) == 0 && !tooBig {
			if err == io.EOF {
				err = nil
			}
			return st, err
		}
		line := chunk
		if len(long) > 0 || tooBig {
			if !tooBig && len(long)+len(chunk) > MaxLineBytes {
				tooBig = true
			}
			long = append(long, chunk...)
			line = long
		}
		st.Bytes += int64(len(chunk))
		offset += int64(len(chunk))
		st.Lines++
		lineNo++
		pos := Pos{File: file, Line: lineNo, Offset: lineBegin}
		switch {
		case tooBig:
			st.Malformed++
			if bad != nil {
				bad(&ParseError{Pos: pos, Format: "input", Err: ErrLineTooLong})
			}
		default:
			line = trimLine(line)
			// A bare CR inside a line: old Mac line ends, or a CR smuggled
			// into a field. Each CR-separated part is read as a line of
			// its own, at its own offset, so nothing is hidden behind it.
			partOff := int64(0)
			for part := range bytes.SplitSeq(line, []byte{'\r'}) {
				partPos := pos
				partPos.Offset += partOff // SplitSeq caps each part at its length: count, don't subtract caps
				partOff += int64(len(part)) + 1
				if len(part) == 0 {
					continue
				}
				var perr error
				dst, perr = p.Parse(dst[:0], part, partPos)
				switch {
				case perr == nil:
				case errors.Is(perr, ErrUnsupported):
					st.Unsupported++
				default:
					st.Malformed++
					if bad != nil {
						bad(perr)
					}
				}
				for _, ev := range dst {
					st.Events++
					if eerr := emit(ev); eerr != nil {
						return st, eerr
					}
				}
			}
		}
		long, tooBig, lineBegin = long[:0], false, offset
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return st, err
		}
	}
}

// trimLine drops the line end (LF, CRLF) and the NUL bytes a crashed syslog
// daemon leaves at the start of a line.
func trimLine(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line[len(line)-len(bytes.TrimLeft(line, "\x00")):]
}
