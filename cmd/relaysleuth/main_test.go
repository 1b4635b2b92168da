package main

import (
	"bytes"
	"io"
	"testing"
)

// runCLI runs the command line args the way main does, with stdin empty.
func runCLI(t *testing.T, args []string, stdout, stderr io.Writer) error {
	t.Helper()
	if stderr == nil {
		stderr = &bytes.Buffer{}
	}
	return run(t.Context(), args, stdout, stderr)
}

func TestExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, exitUsage},
		{[]string{"nosuchcommand"}, exitUsage},
		{[]string{"report", "--format", "xml", "summary"}, exitUsage},
		{[]string{"scan", "--db", t.TempDir() + "/x.db", "../../testdata/postfix/dev/postfix.log"}, exitUsage}, // no local domains
		{[]string{"help"}, exitOK},
		{[]string{"scan", "-h"}, exitOK},
		{[]string{"report", "--db", t.TempDir() + "/none.db", "summary"}, exitError},
	} {
		if got := exitCode(runCLI(t, tc.args, &bytes.Buffer{}, &stderr), &stderr); got != tc.want {
			t.Errorf("relaysleuth %v: exit %d, want %d\n%s", tc.args, got, tc.want, stderr.String())
		}
	}
}
