package analysis

import (
	"slices"
	"strings"

	"github.com/mattn/go-runewidth"
)

// minColumn is the narrowest a wrapped column becomes.
const minColumn = 10

// Fit makes t fit width columns of a terminal: it leaves out the columns
// with the highest Drop while the table is too wide, then wraps the cells
// of the widest columns (Wrap: nothing is cut off); if even that is too
// wide, the last columns go. It returns the table that fits and how many
// columns it left out. t's rows are changed; its columns are not.
func (t Table) Fit(width int) (Table, int) {
	cols, rows := slices.Clone(t.Columns), t.Rows
	n := len(cols)
	natural := func(i int) int {
		n := runewidth.StringWidth(cols[i].Header)
		for _, r := range rows {
			for _, line := range strings.Split(r[i], "\n") {
				n = max(n, runewidth.StringWidth(line))
			}
		}
		return n
	}
	// A table is its cells plus "│ " before each and " │" at the end.
	total := func(ws []int) int {
		sum := 1
		for _, w := range ws {
			sum += w + 3
		}
		return sum
	}
	ws := make([]int, len(cols))
	for i := range cols {
		ws[i] = natural(i)
	}
	leave := func(i int) {
		cols = append(cols[:i:i], cols[i+1:]...)
		ws = append(ws[:i:i], ws[i+1:]...)
		for j, r := range rows {
			rows[j] = append(r[:i:i], r[i+1:]...)
		}
	}
	// Columns go while the table would be too wide even with its long
	// cells wrapped at a comfortable width.
	for comfortable(ws) > width {
		worst := -1
		for i, c := range cols {
			if c.Drop > 0 && (worst < 0 || c.Drop >= cols[worst].Drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		leave(worst)
	}
	for len(cols) > 2 && total(ws) > width && minTotal(ws) > width {
		leave(len(cols) - 1)
	}
	// Water-filling: the widest columns are capped at one width, as wide
	// as the room left allows.
	room := width - total(make([]int, len(ws)))
	cap := 0
	for _, w := range ws {
		cap = max(cap, w)
	}
	for cap > minColumn {
		used := 0
		for _, w := range ws {
			used += min(w, cap)
		}
		if used <= room {
			break
		}
		cap--
	}
	for i, w := range ws {
		if w <= cap {
			continue
		}
		for _, r := range rows {
			r[i] = Wrap(r[i], cap)
		}
		cols[i].Header = Wrap(cols[i].Header, cap)
	}
	return Table{cols, rows}, n - len(cols)
}

// minTotal is the width of a table whose columns of widths ws are wrapped
// at minColumn.
func minTotal(ws []int) int { return cappedTotal(ws, minColumn) }

// comfortColumn is the width a long cell is comfortably read at, wrapped.
const comfortColumn = 20

// comfortable is the width of a table whose columns of widths ws are
// wrapped at comfortColumn.
func comfortable(ws []int) int { return cappedTotal(ws, comfortColumn) }

func cappedTotal(ws []int, cap int) int {
	t := 1
	for _, w := range ws {
		t += min(w, cap) + 3
	}
	return t
}

// Wrap breaks s into lines of at most width display columns, at spaces
// where it can and inside a word where it must: nothing is cut off.
func Wrap(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line, lineW := "", 0
		for _, word := range strings.Split(para, " ") {
			wordW := runewidth.StringWidth(word)
			if lineW > 0 && lineW+1+wordW <= width {
				line, lineW = line+" "+word, lineW+1+wordW
				continue
			}
			if lineW > 0 {
				out = append(out, line)
				line, lineW = "", 0
			}
			for wordW > width {
				head := runewidth.Truncate(word, width, "")
				if head == "" {
					break
				}
				out = append(out, head)
				word = word[len(head):]
				wordW = runewidth.StringWidth(word)
			}
			line, lineW = word, wordW
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
