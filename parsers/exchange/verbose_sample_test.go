package exchange

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestVerboseSample reads every file of testdata/exchange/verbose through
// parsers.Scan as ingest does: no line may be malformed, and every tracking
// row, whatever its event id, is kept as at least one event carrying that
// event id and source.
func TestVerboseSample(t *testing.T) {
	root := "../../testdata/exchange/verbose/EXVB1/TransportRoles/Logs"
	var files []string
	filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 6 {
		t.Fatalf("found %d files under %s, want 6", len(files), root)
	}
	rows, kept := map[string]int{}, map[string]int{}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		seenLine := map[int]bool{}
		_, err = parsers.Scan(t.Context(), f, file, parsers.Start{}, NewParser(Options{}),
			func(ev parsers.Event) error {
				if id, ok := ev.Attr("event-id"); ok && !seenLine[ev.Pos.Line] {
					seenLine[ev.Pos.Line] = true
					src, _ := ev.Attr("source")
					kept[id+"/"+src]++
				}
				return nil
			},
			func(err error) { t.Errorf("malformed: %v", err) })
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(filepath.Base(file), "MSGTRK") {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\r\n") {
			if l == "" || strings.HasPrefix(strings.TrimPrefix(l, "\ufeff"), "#") {
				continue
			}
			rec, err := csv.NewReader(strings.NewReader(l)).Read()
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			rows[rec[8]+"/"+rec[7]]++ // event-id, source (the #Fields order of make.py)
		}
	}
	if len(rows) < 40 {
		t.Errorf("the sample has %d event id/source pairs, want every documented one", len(rows))
	}
	for k, n := range rows {
		if kept[k] != n {
			t.Errorf("%s: %d rows, %d kept", k, n, kept[k])
		}
	}
}
