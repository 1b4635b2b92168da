package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound what the probe reads from a server: a hostile or broken server
// can make a case fail, but cannot make the probe buffer without end.
type Limits struct {
	LineBytes  int // longest line, CRLF included
	ReplyBytes int // longest reply, all its lines together
	ReplyLines int // most lines in one reply
}

// DefaultLimits are generous for real servers: RFC 5321 section 4.5.3.1.5
// sets a reply line at 512 octets, and the longest EHLO replies run to a few
// dozen lines.
var DefaultLimits = Limits{LineBytes: 4 << 10, ReplyBytes: 64 << 10, ReplyLines: 100}

// Errors from ReadReply, besides those of the reader (io.EOF,
// io.ErrUnexpectedEOF, a timeout).
var (
	ErrMalformed    = errors.New("malformed reply line")
	ErrInconsistent = errors.New("reply lines disagree on the code")
	ErrTooLong      = errors.New("reply too long")
)

// ReadReply reads one SMTP reply from r: a single line "250 text" or lines
// "250-text" ending with "250 text" (RFC 5321 section 4.2.1). It returns the
// code and the lines as received, without their line ends; a bare LF is
// accepted as a line end.
//
// A line that does not start with a code from 200 to 559 followed by a space,
// a hyphen or the line end is ErrMalformed; lines of one reply with different
// codes are ErrInconsistent; going past lim is ErrTooLong. On any error the
// lines read so far are returned too, for the transcript, and the stream is
// out of step: the caller should drop the connection.
func ReadReply(r *bufio.Reader, lim Limits) (code int, lines []string, err error) {
	size := 0
	for {
		line, err := readLine(r, lim.LineBytes)
		if line != "" || err == nil {
			lines = append(lines, line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(lines) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, lines, err
		}
		size += len(line) + 2
		if size > lim.ReplyBytes {
			return 0, lines, fmt.Errorf("%w: more than %d bytes", ErrTooLong, lim.ReplyBytes)
		}
		c, more, ok := parseLine(line)
		if !ok {
			return 0, lines, fmt.Errorf("%w: %q", ErrMalformed, clip(line, 64))
		}
		if code == 0 {
			code = c
		} else if c != code {
			return 0, lines, fmt.Errorf("%w: %d then %d", ErrInconsistent, code, c)
		}
		if !more {
			return code, lines, nil
		}
		if len(lines) >= lim.ReplyLines {
			return 0, lines, fmt.Errorf("%w: more than %d lines", ErrTooLong, lim.ReplyLines)
		}
	}
}

// readLine reads up to and including '\n' and returns the line without its
// line end. A line longer than max bytes is ErrTooLong, returned with its
// first max bytes; reading stops there, so an endless line costs at most
// max plus one buffer.
func readLine(r *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > max {
			buf = append(buf, frag[:max-len(buf)]...)
			return string(buf), fmt.Errorf("%w: line longer than %d bytes", ErrTooLong, max)
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return string(buf), err
		}
	}
	line := string(buf[:len(buf)-1])
	return strings.TrimSuffix(line, "\r"), nil
}

// parseLine splits a reply line "250-text", "250 text" or "250" into its code
// and whether more lines follow. Codes are those of RFC 5321 section 4.2:
// first digit 2 to 5, second 0 to 5.
func parseLine(line string) (code int, more, ok bool) {
	if len(line) < 3 {
		return 0, false, false
	}
	d0, d1, d2 := line[0], line[1], line[2]
	if d0 < '2' || d0 > '5' || d1 < '0' || d1 > '5' || d2 < '0' || d2 > '9' {
		return 0, false, false
	}
	code = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	switch {
	case len(line) == 3 || line[3] == ' ':
		return code, false, true
	case line[3] == '-':
		return code, true, true
	}
	return 0, false, false
}

// replyText is the text of a reply's lines without their codes, one line
// per reply line.
func replyText(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if len(l) > 4 {
			b.WriteString(l[4:])
		}
	}
	return b.String()
}

// escape makes s safe to print on a terminal: control characters, invalid
// UTF-8, non-printing runes (bidi overrides among them) and the backslash
// itself are written as Go escapes, so "\x1b[2J" in a banner is shown, not
// obeyed, and the escaping cannot be forged.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// clip shortens s to at most n bytes, for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
