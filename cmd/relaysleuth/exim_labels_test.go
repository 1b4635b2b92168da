package main

import (
	"path/filepath"
	"testing"
)

// TestEximCorpusLabels scans each Exim corpus run, mainlog and rejectlog
// together as an admin would, and checks every recipient against
// labels.csv.
func TestEximCorpusLabels(t *testing.T) {
	for _, run := range []corpusRun{
		{dir: "../../testdata/exim/dev", logs: []string{"mainlog", "rejectlog"}},
		{dir: "../../testdata/exim/dev-alt", logs: []string{"mainlog", "rejectlog"}},
	} {
		t.Run(filepath.Base(run.dir), func(t *testing.T) { checkLabels(t, run) })
	}
}
