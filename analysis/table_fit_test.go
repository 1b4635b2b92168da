package analysis

import (
	"slices"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		in    string
		width int
		want  string
	}{
		{"relay access denied", 12, "relay access\ndenied"},
		{"mail.log:123456789", 8, "mail.log\n:1234567\n89"}, // a word longer than the width is broken, not cut
		{"short", 20, "short"},
		{"日本語のテキスト", 6, "日本語\nのテキ\nスト"}, // two columns a rune
	} {
		if got := Wrap(tt.in, tt.width); got != tt.want {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	long := strings.Repeat("relay access denied ", 6)
	tab := Table{
		Columns: []Column{{"CLIENT", "client_ip", 0}, {"NAME", "client_name", 2}, {"SENDERS", "senders", 1}, {"REASON", "reason", 0}},
		Rows:    [][]string{{"192.0.2.1", "unknown.example.net", "a@spam.example b@spam.example", long}},
	}
	wide, left := Table{tab.Columns, [][]string{slices.Clone(tab.Rows[0])}}.Fit(400)
	if left != 0 || len(wide.Columns) != 4 || wide.Rows[0][3] != long {
		t.Errorf("Fit(400) left out %d, wrapped %q; want the table as it is", left, wide.Rows[0][3])
	}
	narrow, left := Table{tab.Columns, [][]string{slices.Clone(tab.Rows[0])}}.Fit(60)
	if left == 0 || narrow.Columns[0].Header != "CLIENT" || narrow.Columns[len(narrow.Columns)-1].Header != "REASON" {
		t.Fatalf("Fit(60) = %v, %d left out; want the high Drop columns gone first", narrow.Columns, left)
	}
	if left == 1 && narrow.Columns[1].Header != "SENDERS" {
		t.Errorf("Fit(60) left NAME in and SENDERS out: %v", narrow.Columns)
	}
	width := 1
	for i := range narrow.Columns {
		w := 0
		for _, line := range strings.Split(narrow.Rows[0][i], "\n") {
			w = max(w, runewidth.StringWidth(line))
		}
		width += w + 3
	}
	if width > 60 {
		t.Errorf("fitted table is %d wide, want at most 60", width)
	}
	reason := narrow.Rows[0][len(narrow.Columns)-1]
	if strings.ReplaceAll(reason, "\n", " ") != strings.TrimSuffix(long, " ") && strings.ReplaceAll(reason, "\n", " ") != long {
		t.Errorf("wrapped reason %q lost text", reason)
	}
	if tab.Columns[1].Header != "NAME" || len(tab.Columns) != 4 {
		t.Errorf("Fit changed the columns it was given: %v", tab.Columns)
	}
}
