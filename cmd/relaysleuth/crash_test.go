package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/schema"
)

// bigLog writes copies of the sample log, each shifted to its own hour and
// with its own queue ids, so that every copy is new mail.
func bigLog(t *testing.T, path string, copies int) { bigLogFrom(t, path, 0, copies) }

// bigLogFrom writes copies first, first+1, ... of the sample.
func bigLogFrom(t *testing.T, path string, first, copies int) {
	t.Helper()
	data, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	qid := regexp.MustCompile(`\b[0-9A-F]{10}\b`)
	stamp := regexp.MustCompile(`(?m)^Nov 27 19:`)
	var out bytes.Buffer
	for k := first; k < first+copies; k++ {
		c := qid.ReplaceAllFunc(data, func(id []byte) []byte {
			return fmt.Appendf(nil, "%02X%s", k, id[2:])
		})
		c = stamp.ReplaceAll(c, fmt.Appendf(nil, "Nov %2d %02d:", 1+k/24, k%24))
		out.Write(c)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildBinary builds relaysleuth into dir, for tests that need a process
// they can kill.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "relaysleuth")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// dbState is what must be equal between a clean run and a crashed one.
type dbState struct {
	rows       map[string]int64
	recipients string
	summary    string
}

func stateOf(t *testing.T, db string) dbState {
	t.Helper()
	rows := checkedRows(t, db)
	countsMatch(t, db)
	var rec, sum bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "csv", "--hops", "recipients"}, &rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := runCLI(t, []string{"report", "--db", db, "--format", "csv", "summary"}, &sum, nil); err != nil {
		t.Fatal(err)
	}
	// Unsupported lines are counted when a file is finished: after a crash
	// only the part read again is counted, so that line is not compared.
	var kept []string
	for _, l := range strings.Split(sum.String(), "\n") {
		if !strings.HasPrefix(l, "lines unsupported,") {
			kept = append(kept, l)
		}
	}
	return dbState{rows: rows, recipients: rec.String(), summary: strings.Join(kept, "\n")}
}

// TestCrashSafety kills `relaysleuth ingest` with SIGKILL at random points
// of a large input, several times, reruns it to the end, and compares the
// database with a clean single run: same rows, no duplicates, no loss.
func TestCrashSafety(t *testing.T) {
	bin, dir, log := crashSetup(t, 120)
	args := func(db string) []string {
		return append([]string{"ingest", "--db", db, "--progress", "never"}, append(sampleArgs, log)...)
	}

	clean := filepath.Join(dir, "clean.db")
	start := time.Now()
	if out, err := exec.Command(bin, args(clean)...).CombinedOutput(); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := stateOf(t, clean)

	crashed := filepath.Join(dir, "crashed.db")
	rng := rand.New(rand.NewPCG(1, 2))
	kills := killAtRandom(t, rng, full, bin, args(crashed)...)
	if out, err := exec.Command(bin, args(crashed)...).CombinedOutput(); err != nil {
		t.Fatalf("ingest after %d kills: %v\n%s", kills, err, out)
	}
	got := stateOf(t, crashed)
	for table, n := range want.rows {
		if table != "sources" && got.rows[table] != n {
			t.Errorf("%s: %d rows after %d kills, want %d as in a clean run", table, got.rows[table], kills, n)
		}
	}
	if got.recipients != want.recipients {
		t.Errorf("recipients differ from a clean run after %d kills:\n%s", kills, firstDiff(got.recipients, want.recipients))
	}
	if got.summary != want.summary {
		t.Errorf("summary differs from a clean run after %d kills:\n%s\nwant\n%s", kills, got.summary, want.summary)
	}
	// A kill during the first load leaves the report indexes unbuilt
	// (schema.DeferIndexes); the next run builds them.
	if g, w := indexesOf(t, crashed), indexesOf(t, clean); g != w {
		t.Errorf("indexes after %d kills:\n%s\nwant as in a clean run:\n%s", kills, g, w)
	}
}

// indexesOf lists the indexes of the database at db.
func indexesOf(t *testing.T, db string) string {
	t.Helper()
	r, err := openDB(t, db).Query(`SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b strings.Builder
	for r.Next() {
		var name string
		r.Scan(&name)
		b.WriteString(name + "\n")
	}
	return b.String()
}

// killAtRandom runs bin with args four times, each killed with SIGKILL
// at a random point of a run that takes about full, and returns how many
// kills landed before the run ended.
func killAtRandom(t *testing.T, rng *rand.Rand, full time.Duration, bin string, args ...string) int {
	t.Helper()
	kills := 0
	for range 4 {
		if killOnce(t, rng, full, bin, args...) {
			kills++
		}
	}
	return kills
}

// killOnce runs bin with args and kills it with SIGKILL at a random point
// of a run that takes about full; it says whether the kill landed before
// the run ended.
func killOnce(t *testing.T, rng *rand.Rand, full time.Duration, bin string, args ...string) bool {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(rng.Int64N(int64(full))))
	landed := cmd.Process.Signal(syscall.SIGKILL) == nil
	cmd.Wait()
	return landed
}

// crashSetup is what the crash tests share: skipped by -short, the binary
// built, and a big log (copies of the sample) in a new directory.
func crashSetup(t *testing.T, copies int) (bin, dir, log string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and ingests a large log")
	}
	bin, dir = buildBinary(t), t.TempDir()
	log = filepath.Join(dir, "mail.log")
	bigLog(t, log, copies)
	return bin, dir, log
}

// checkedRows opens the database db (a file or a PostgreSQL DSN), checks
// the invariants the store keeps (IntegrityCheck) and returns its row
// counts per table.
func checkedRows(t *testing.T, db string) map[string]int64 {
	t.Helper()
	s, err := schema.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if res, err := s.IntegrityCheck(t.Context()); err != nil || res != "ok" {
		t.Fatalf("integrity check: %q %v", res, err)
	}
	rows, err := s.TableRows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// firstDiff shows the first lines where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var out []string
	for i := 0; i < max(len(g), len(w)) && len(out) < 6; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			out = append(out, fmt.Sprintf("line %d:\n  got  %s\n  want %s", i+1, gl, wl))
		}
	}
	return strings.Join(out, "\n")
}

// countsMatch checks the verdict counts the triggers keep (what `report
// summary` reads) against a count of the recipients themselves.
func countsMatch(t *testing.T, db string) {
	t.Helper()
	rows := func(q string) string {
		r, err := openDB(t, db).Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var b strings.Builder
		for r.Next() {
			var v, host, mta string
			var hop, n int
			if err := r.Scan(&v, &host, &mta, &hop, &n); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s %s %d %d\n", v, host, mta, hop, n)
		}
		return b.String()
	}
	kept := rows(`SELECT verdict, host, mta, hop, n FROM recipient_counts WHERE n <> 0 ORDER BY 1, 2, 3, 4`)
	counted := rows(`SELECT verdict, host, mta, hop, count(*) FROM recipients GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
	if kept != counted {
		t.Errorf("recipient_counts:\n%swant (counted from recipients):\n%s", kept, counted)
	}
}
