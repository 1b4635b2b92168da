package pipeline

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/relaysleuth/relaysleuth/schema"
)

// TestRelocateFamily finds rotated files by their first line, compressed
// or not, and leaves a name alone when a source still in that file shares
// it with one that moved (their references could not be told apart).
func TestRelocateFamily(t *testing.T) {
	ctx := t.Context()
	first := map[string]string{
		"B": "Nov 27 19:00:00 mail postfix/master[1]: daemon started B\n",
		"C": "Nov 28 19:00:00 mail postfix/master[1]: daemon started C\n",
		"D": "Nov 29 19:00:00 mail postfix/master[1]: daemon started D\n",
	}
	fp := func(gen string) string {
		return fingerprint([][]byte{bytes.TrimSuffix([]byte(first[gen]), []byte("\n"))})
	}
	write := func(t *testing.T, path, gen string) {
		t.Helper()
		data := []byte(first[gen] + "Nov 29 19:00:01 mail postfix/qmgr[2]: 4B49DBC301: removed\n")
		if filepath.Ext(path) == ".gz" {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			data = b.Bytes()
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		files   map[string]string // file name → generation in it
		sources map[string]string // generation → stored path
		want    []string          // "gen from → to"
	}{
		{"two rotations", map[string]string{"mail.log": "D", "mail.log.1": "C", "mail.log.2.gz": "B"},
			map[string]string{"B": "mail.log.1", "C": "mail.log"}, []string{"B mail.log.1 → mail.log.2.gz", "C mail.log → mail.log.1"}},
		{"still there", map[string]string{"mail.log": "C", "mail.log.1": "B"},
			map[string]string{"B": "mail.log.1", "C": "mail.log"}, nil},
		{"ambiguous name", map[string]string{"mail.log": "C", "mail.log.1": "B"},
			map[string]string{"B": "mail.log", "C": "mail.log"}, nil},
		{"the other is gone", map[string]string{"mail.log": "D", "mail.log.1": "C"},
			map[string]string{"B": "mail.log", "C": "mail.log"}, []string{"C mail.log → mail.log.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, gen := range tc.files {
				write(t, filepath.Join(dir, name), gen)
			}
			s, err := schema.Open(ctx, filepath.Join(dir, "t.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			byID := map[int64]string{}
			for _, gen := range []string{"B", "C"} {
				src, err := s.Source(ctx, filepath.Join(dir, tc.sources[gen]), fp(gen), "postfix", 1)
				if err != nil {
					t.Fatal(err)
				}
				byID[src.ID] = gen
			}
			moves, err := relocateFamily(ctx, ctx, s, filepath.Join(dir, "mail.log"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range moves {
				got = append(got, byID[m.SourceID]+" "+filepath.Base(m.From)+" → "+filepath.Base(m.To))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("moves %v, want %v", got, tc.want)
			}
		})
	}
}
