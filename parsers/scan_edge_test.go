package parsers

import (
	"strings"
	"testing"
)

// oneEvent parses every line into one empty event.
type oneEvent struct{}

func (oneEvent) Parse(dst []Event, line []byte, pos Pos) ([]Event, error) {
	return append(dst, Event{Pos: pos}), nil
}

func TestScanBufferEdges(t *testing.T) {
	emit := func(Event) error { return nil }
	// A last line without newline whose length is a multiple of the
	// 64 KiB read buffer.
	st, err := Scan(t.Context(), strings.NewReader("a\n"+strings.Repeat("x", 65536)), "f", Start{}, oneEvent{}, emit, nil)
	if err != nil || st.Lines != 2 || st.Events != 2 {
		t.Errorf("buffer-sized last line: %+v, %v; want 2 lines, 2 events", st, err)
	}
	// A line just over MaxLineBytes (not a multiple of the buffer) is
	// refused; the next line is read.
	var bad int
	in := strings.Repeat("y", MaxLineBytes+1000) + "\nb\n"
	st, err = Scan(t.Context(), strings.NewReader(in), "f", Start{}, oneEvent{}, emit, func(error) { bad++ })
	if err != nil || st.Lines != 2 || st.Malformed != 1 || bad != 1 || st.Events != 1 {
		t.Errorf("over-long line: %+v, %v (bad %d); want 2 lines, 1 malformed, 1 event", st, err, bad)
	}
}
