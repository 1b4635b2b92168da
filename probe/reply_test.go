package probe

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

var small = Limits{LineBytes: 16, ReplyBytes: 40, ReplyLines: 3}

var readReplyTests = []struct {
	name, in  string
	lim       Limits
	wantCode  int
	wantLines []string
	wantErr   error
}{
	{"one line", "250 2.1.5 Ok\r\n", DefaultLimits, 250, []string{"250 2.1.5 Ok"}, nil},
	{"bare LF", "550 5.7.1 no\n", DefaultLimits, 550, []string{"550 5.7.1 no"}, nil},
	{"code only", "250\r\n", DefaultLimits, 250, []string{"250"}, nil},
	{"multi-line", "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", DefaultLimits, 250,
		[]string{"250-mx.example.org", "250-PIPELINING", "250 8BITMIME"}, nil},
	{"reads one reply only", "220 hi\r\n250 next\r\n", DefaultLimits, 220, []string{"220 hi"}, nil},
	{"empty", "", DefaultLimits, 0, nil, io.EOF},
	{"no line end", "250 ok", DefaultLimits, 0, []string{"250 ok"}, io.ErrUnexpectedEOF},
	{"dropped mid-reply", "250-one\r\n", DefaultLimits, 0, []string{"250-one"}, io.ErrUnexpectedEOF},
	{"empty line", "\r\n", DefaultLimits, 0, []string{""}, ErrMalformed},
	{"short", "25\r\n", DefaultLimits, 0, []string{"25"}, ErrMalformed},
	{"letter in code", "25O ok\r\n", DefaultLimits, 0, []string{"25O ok"}, ErrMalformed},
	{"1xx", "100 continue\r\n", DefaultLimits, 0, []string{"100 continue"}, ErrMalformed},
	{"6xx", "600 what\r\n", DefaultLimits, 0, []string{"600 what"}, ErrMalformed},
	{"second digit 6", "260 what\r\n", DefaultLimits, 0, []string{"260 what"}, ErrMalformed},
	{"bad separator", "250_ok\r\n", DefaultLimits, 0, []string{"250_ok"}, ErrMalformed},
	{"four digits", "2500 ok\r\n", DefaultLimits, 0, []string{"2500 ok"}, ErrMalformed},
	{"malformed continuation", "250-ok\r\nxyz\r\n", DefaultLimits, 0, []string{"250-ok", "xyz"}, ErrMalformed},
	{"inconsistent", "250-ok\r\n550 no\r\n", DefaultLimits, 0, []string{"250-ok", "550 no"}, ErrInconsistent},
	{"line at limit", "250 " + strings.Repeat("x", 10) + "\r\n", small, 250, []string{"250 " + strings.Repeat("x", 10)}, nil},
	{"line too long", "250 " + strings.Repeat("x", 11) + "\r\n", small, 0, []string{"250 " + strings.Repeat("x", 11) + "\r"}, ErrTooLong},
	{"endless line", "250 " + strings.Repeat("x", 100), small, 0, []string{"250 " + strings.Repeat("x", 12)}, ErrTooLong},
	{"too many lines", "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", small, 0, []string{"250-a", "250-b", "250-c"}, ErrTooLong},
	{"too many bytes", "250-aaaaaaaaaa\r\n250-bbbbbbbbbb\r\n250 cccccccccc\r\n", small, 0,
		[]string{"250-aaaaaaaaaa", "250-bbbbbbbbbb", "250 cccccccccc"}, ErrTooLong},
}

func TestReadReply(t *testing.T) {
	for _, tt := range readReplyTests {
		t.Run(tt.name, func(t *testing.T) {
			code, lines, err := ReadReply(bufio.NewReaderSize(strings.NewReader(tt.in), 16), tt.lim)
			if code != tt.wantCode || !slices.Equal(lines, tt.wantLines) || !errors.Is(err, tt.wantErr) {
				t.Errorf("ReadReply(%q) = %d, %q, %v; want %d, %q, %v", tt.in, code, lines, err, tt.wantCode, tt.wantLines, tt.wantErr)
			}
		})
	}
}

func FuzzReadReply(f *testing.F) {
	for _, tt := range readReplyTests {
		f.Add(tt.in) // the table is the seed corpus
	}
	// Small limits, not DefaultLimits: the code is the same, and reaching a
	// 64 KiB limit would make every interesting input long and slow to
	// minimize.
	medium := Limits{LineBytes: 64, ReplyBytes: 256, ReplyLines: 8}
	f.Fuzz(func(t *testing.T, in string) {
		for _, lim := range []Limits{medium, small} {
			code, lines, err := ReadReply(bufio.NewReaderSize(strings.NewReader(in), 16), lim)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInconsistent) && !errors.Is(err, ErrTooLong) &&
					!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("ReadReply(%q): untyped error %v", in, err)
				}
				if code != 0 {
					t.Fatalf("ReadReply(%q) = code %d with error %v", in, code, err)
				}
			} else if code < 200 || code > 559 || len(lines) == 0 {
				t.Fatalf("ReadReply(%q) = %d, %q", in, code, lines)
			}
			if len(lines) > lim.ReplyLines+1 {
				t.Fatalf("ReadReply(%q) = %d lines, limit %d", in, len(lines), lim.ReplyLines)
			}
			size := 0
			for i, l := range lines {
				size += len(l)
				if len(l) > lim.LineBytes {
					t.Fatalf("ReadReply(%q): line %d is %d bytes, limit %d", in, i, len(l), lim.LineBytes)
				}
				if err == nil && (l[:3] != lines[0][:3] || (i < len(lines)-1) != (len(l) > 3 && l[3] == '-')) {
					t.Fatalf("ReadReply(%q) accepted %q", in, lines)
				}
			}
			if size > lim.ReplyBytes+lim.LineBytes {
				t.Fatalf("ReadReply(%q) returned %d bytes, limit %d", in, size, lim.ReplyBytes)
			}
		}
	})
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"250 ok", "250 ok"},
		{"\x1b[2J", `\x1b[2J`},
		{"a\r\nb\tc\x00\x7f", `a\r\nb\tc\x00\x7f`},
		{`back\slash`, `back\\slash`},
		{"caf\xe9", `caf\xe9`},
		{"café ünïcode", "café ünïcode"},
		{"\u202etxt.exe", `\u202etxt.exe`},
		{"\u0085next line", `\u0085next line`},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func BenchmarkReadReply(b *testing.B) {
	in := strings.Repeat("250-mx.example.org says hello\r\n", 20) + "250 8BITMIME\r\n"
	r := strings.NewReader(in)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		if _, _, err := ReadReply(br, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
