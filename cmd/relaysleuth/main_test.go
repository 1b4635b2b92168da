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
