package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"testing"
)

// recipientsJSON runs `report recipients --hops --format json`.
func recipientsJSON(t *testing.T, db string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := runCLI(t, []string{"report", "--db", db, "--format", "json", "--hops", "recipients"}, &out, nil); err != nil {
		t.Fatalf("report recipients: %v", err)
	}
	return out.Bytes()
}

// TestRejudge: logs ingested with a wrong policy, then rejudged with the
// right one, give exactly the recipients of a scan with the right policy —
// for every MTA's corpus.
func TestRejudge(t *testing.T) {
	for _, run := range []corpusRun{
		{dir: "../../testdata/postfix/dev", logs: []string{"postfix.log"}},
		{dir: "../../testdata/exim/dev", logs: []string{"mainlog", "rejectlog"}},
		{dir: "../../testdata/exchange/dev", logs: []string{"EXSRV2"}},
	} {
		t.Run(filepath.Base(filepath.Dir(run.dir)), func(t *testing.T) {
			var logs []string
			for _, l := range run.logs {
				logs = append(logs, filepath.Join(run.dir, l))
			}
			cfg := filepath.Join(run.dir, "config.json")
			common := []string{"--timezone", "UTC", "--progress", "never"}

			right := filepath.Join(t.TempDir(), "right.db")
			runCLI(t, append(append([]string{"scan", "--db", right, "--config", cfg}, common...), logs...), &bytes.Buffer{}, nil)
			want := recipientsJSON(t, right)

			// The mistake that makes open relays invisible: trusting every
			// client as if it were ours.
			wrong := filepath.Join(t.TempDir(), "wrong.db")
			runCLI(t, append(append([]string{"scan", "--db", wrong, "--config", cfg, "--trusted-networks", "0.0.0.0/0,::/0"}, common...), logs...), &bytes.Buffer{}, nil)
			if bytes.Equal(recipientsJSON(t, wrong), want) {
				t.Fatal("the wrong policy gave the same verdicts: the test proves nothing")
			}
			var stderr bytes.Buffer
			if err := runCLI(t, []string{"rejudge", "--db", wrong, "--config", cfg}, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("rejudge: %v\n%s", err, stderr.String())
			}
			// It says what changed: relay abuse the wrong policy hid.
			if !regexp.MustCompile(`relay_abuse +0 -> [1-9]`).MatchString(stderr.String()) {
				t.Errorf("rejudge does not say the relay_abuse count changed:\n%s", stderr.String())
			}
			if got := recipientsJSON(t, wrong); !bytes.Equal(got, want) {
				t.Errorf("recipients after rejudge differ from a scan with the right policy:\n%s", firstDiff(string(got), string(want)))
			}
			countsMatch(t, wrong)
		})
	}
}
