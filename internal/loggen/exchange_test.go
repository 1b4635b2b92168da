package loggen

import (
	"bytes"
	"encoding/csv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exchangeFileName is how Exchange 2013+ names an hour's log files.
var exchangeFileName = regexp.MustCompile(`^(FrontEnd/ProtocolLog/SmtpReceive/RECV|MessageTracking/MSGTRK(MD|MS)?)\d{10}-\d+\.LOG$`)

// TestExchangeFiles generates Exchange log sets and checks their shape:
// exactly the lines asked for, every file named as Exchange names it and
// starting with its header, every row with as many CSV fields as #Fields
// names, rows in time order within a file, and new files for a new hour
// and for a full file.
func TestExchangeFiles(t *testing.T) {
	for _, n := range []int{exMinLines, 137, 5000, 150000} {
		dir := t.TempDir()
		// Start ten minutes before an hour, so that the larger sets cross it.
		start := time.Date(2026, 3, 2, 6, 50, 0, 0, time.UTC)
		st, err := Generate(io.Discard, io.Discard, Options{Format: "exchange", Lines: n, Seed: 2, Start: start, Dir: dir})
		if err != nil {
			t.Fatalf("%d lines: %v", n, err)
		}
		files, lines := 0, 0
		names := map[string]bool{}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			names[rel] = true
			files++
			if !exchangeFileName.MatchString(rel) {
				t.Errorf("%d lines: file %s: not an Exchange log name", n, rel)
			}
			lines += checkExchangeFile(t, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if lines != n || st.Lines != n {
			t.Errorf("%d lines asked: %d in the files, Stats.Lines %d", n, lines, st.Lines)
		}
		if files != st.Files {
			t.Errorf("%d lines: %d files, Stats.Files %d", n, files, st.Files)
		}
		if n == 150000 {
			for _, want := range []string{
				"FrontEnd/ProtocolLog/SmtpReceive/RECV2026030207-2.LOG", // 07:xx-1 filled 10 MB
				"FrontEnd/ProtocolLog/SmtpReceive/RECV2026030207-1.LOG", // a new hour
				"MessageTracking/MSGTRK2026030207-1.LOG",
				"MessageTracking/MSGTRKMD2026030207-1.LOG",
			} {
				if !names[want] {
					t.Errorf("%d lines: no %s among %v", n, want, names)
				}
			}
		}
	}
}

// checkExchangeFile checks one generated file and returns its line count.
func checkExchangeFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\ufeff#Software: Microsoft Exchange Server\r\n")) {
		t.Errorf("%s: does not start with the BOM and #Software", path)
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Errorf("%s: last line not ended by CRLF", path)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	fields := strings.Split(strings.TrimPrefix(lines[4], "#Fields: "), ",")
	if !strings.HasPrefix(lines[4], "#Fields: date-time,") || !strings.HasPrefix(lines[3], "#Date: ") {
		t.Errorf("%s: header %q", path, lines[:5])
	}
	last := ""
	for i, l := range lines[exHeaderLines:] {
		r := csv.NewReader(strings.NewReader(l))
		rec, err := r.Read()
		if err != nil || len(rec) != len(fields) {
			t.Errorf("%s:%d: %d fields (err %v), want %d: %s", path, exHeaderLines+i+1, len(rec), err, len(fields), l)
			continue
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", rec[0]); err != nil || rec[0] < last {
			t.Errorf("%s:%d: date-time %q after %q", path, exHeaderLines+i+1, rec[0], last)
		}
		last = rec[0]
	}
	return len(lines)
}
