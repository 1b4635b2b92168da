package parsers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// lineParser makes one event per line, with the line as Raw, so a test
// can see what Scan handed over and where. "bad" lines are malformed,
// "skip" lines unsupported.
type lineParser struct{}

var errBadLine = errors.New("bad line")

func (lineParser) Parse(dst []Event, line []byte, pos Pos) ([]Event, error) {
	switch string(line) {
	case "bad":
		return dst, &ParseError{Pos: pos, Format: "test", Err: errBadLine}
	case "skip":
		return dst, ErrUnsupported
	}
	return append(dst, Event{Pos: pos, Raw: string(line)}), nil
}

// scanAll scans input from start and returns the events and bad lines.
func scanAll(t *testing.T, r io.Reader, start Start) ([]Event, []error, Stats, error) {
	t.Helper()
	var evs []Event
	var bad []error
	st, err := Scan(t.Context(), r, "mail.log", start, lineParser{}, func(ev Event) error {
		evs = append(evs, ev)
		return nil
	}, func(err error) { bad = append(bad, err) })
	return evs, bad, st, err
}

func TestScanLines(t *testing.T) {
	in := "one\r\ntwo\n\n\x00\x00three\nbad\nskip\nlast"
	evs, bad, st, err := scanAll(t, strings.NewReader(in), Start{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Pos: Pos{"mail.log", 1, 0}, Raw: "one"},
		{Pos: Pos{"mail.log", 2, 5}, Raw: "two"},
		{Pos: Pos{"mail.log", 4, 10}, Raw: "three"},
		{Pos: Pos{"mail.log", 7, 27}, Raw: "last"},
	}
	if len(evs) != len(want) {
		t.Fatalf("Scan gave %d events %+v, want %d", len(evs), evs, len(want))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, evs[i], want[i])
		}
	}
	wantSt := Stats{Lines: 7, Bytes: int64(len(in)), Events: 4, Unsupported: 1, Malformed: 1}
	if st != wantSt {
		t.Errorf("Stats = %+v, want %+v", st, wantSt)
	}
	var pe *ParseError
	if len(bad) != 1 || !errors.As(bad[0], &pe) || pe.Pos != (Pos{"mail.log", 5, 18}) || !errors.Is(bad[0], errBadLine) {
		t.Errorf("bad = %v, want the ParseError of line 5 at offset 18", bad)
	}
}

func TestScanEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", "\r\n\n"} {
		evs, bad, st, err := scanAll(t, strings.NewReader(in), Start{})
		if err != nil || len(evs) != 0 || len(bad) != 0 || st.Bytes != int64(len(in)) || st.Lines != int64(strings.Count(in, "\n")) {
			t.Errorf("Scan(%q) = %v, %v, %+v, %v", in, evs, bad, st, err)
		}
	}
}

// TestScanLongLines checks lines longer than bufio's buffer: one that fits
// MaxLineBytes is parsed whole; a 3 MB one is reported as malformed and the
// next line keeps its number and offset.
func TestScanLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	huge := strings.Repeat("y", 3<<20)
	in := "first\n" + long + "\n" + huge + "\nnext\r\n"
	// One byte at a time for part of it would be slow; half-size reads
	// still make ReadSlice fill its buffer in pieces.
	evs, bad, st, err := scanAll(t, iotest.HalfReader(strings.NewReader(in)), Start{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[1].Raw != long || evs[1].Pos != (Pos{"mail.log", 2, 6}) {
		t.Fatalf("long line: got %d events, want 3 with line 2 whole", len(evs))
	}
	hugeAt := int64(6 + len(long) + 1)
	var pe *ParseError
	if len(bad) != 1 || !errors.As(bad[0], &pe) || !errors.Is(bad[0], ErrLineTooLong) || pe.Pos != (Pos{"mail.log", 3, hugeAt}) {
		t.Fatalf("bad = %v, want ErrLineTooLong at line 3, offset %d", bad, hugeAt)
	}
	nextAt := hugeAt + int64(len(huge)) + 1
	if evs[2] != (Event{Pos: Pos{"mail.log", 4, nextAt}, Raw: "next"}) {
		t.Errorf("line after the huge one = %+v, want line 4 at offset %d", evs[2].Pos, nextAt)
	}
	wantSt := Stats{Lines: 4, Bytes: int64(len(in)), Events: 3, Malformed: 1}
	if st != wantSt {
		t.Errorf("Stats = %+v, want %+v", st, wantSt)
	}
}

func TestScanStart(t *testing.T) {
	in := "a\nb\n"
	tests := []struct {
		start     Start
		wantLines []int
		wantOff   []int64
	}{
		{Start{}, []int{1, 2}, []int64{0, 2}},
		{Start{Offset: 1000, Line: 41}, []int{42, 43}, []int64{1000, 1002}},
		{Start{Offset: 0, Line: 41}, []int{1, 2}, []int64{0, 2}}, // Line is ignored at offset 0
		{Start{Offset: 1000}, []int{1, 2}, []int64{1000, 1002}},  // a tail that does not know the line
	}
	for _, tt := range tests {
		evs, _, _, err := scanAll(t, strings.NewReader(in), tt.start)
		if err != nil || len(evs) != 2 {
			t.Fatalf("Scan from %+v = %v, %v", tt.start, evs, err)
		}
		for i, ev := range evs {
			if ev.Pos.Line != tt.wantLines[i] || ev.Pos.Offset != tt.wantOff[i] {
				t.Errorf("Scan from %+v: event %d at %+v, want line %d offset %d", tt.start, i, ev.Pos, tt.wantLines[i], tt.wantOff[i])
			}
		}
	}
}

func TestScanStops(t *testing.T) {
	var in bytes.Buffer
	for i := range 5000 {
		fmt.Fprintf(&in, "line %d\n", i)
	}

	t.Run("emit error", func(t *testing.T) {
		errFull := errors.New("disk full")
		n := 0
		st, err := Scan(t.Context(), bytes.NewReader(in.Bytes()), "f", Start{}, lineParser{}, func(Event) error {
			if n++; n == 3 {
				return errFull
			}
			return nil
		}, nil)
		if !errors.Is(err, errFull) || st.Lines != 3 || n != 3 {
			t.Errorf("Scan = %+v, %v after %d emits; want to stop at the third with its error", st, err, n)
		}
	})

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		st, err := Scan(ctx, bytes.NewReader(in.Bytes()), "f", Start{}, lineParser{}, func(Event) error { return nil }, nil)
		if !errors.Is(err, context.Canceled) || st.Lines != 0 {
			t.Errorf("Scan = %+v, %v; want context.Canceled before any line", st, err)
		}
	})

	t.Run("cancelled while reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		st, err := Scan(ctx, bytes.NewReader(in.Bytes()), "f", Start{}, lineParser{}, func(ev Event) error {
			if ev.Pos.Line == 10 {
				cancel()
			}
			return nil
		}, nil)
		// Scan looks at ctx every 1024 lines: cheap, and soon enough.
		if !errors.Is(err, context.Canceled) || st.Lines > 1024 {
			t.Errorf("Scan = %+v, %v; want context.Canceled within 1024 lines", st, err)
		}
	})

	t.Run("reader error", func(t *testing.T) {
		errDisk := errors.New("input/output error")
		r := io.MultiReader(strings.NewReader("a\nb\npartial"), iotest.ErrReader(errDisk))
		var got []string
		st, err := Scan(t.Context(), r, "f", Start{}, lineParser{}, func(ev Event) error {
			got = append(got, ev.Raw)
			return nil
		}, nil)
		// The partial line before the error is still handed over.
		if !errors.Is(err, errDisk) || strings.Join(got, ",") != "a,b,partial" || st.Lines != 3 {
			t.Errorf("Scan = %v, %+v, %v; want a,b,partial then the read error", got, st, err)
		}
	})
}
