package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/relaysleuth/relaysleuth/probe"
)

// runProbe runs the active open-relay test (package probe). An accepted
// case exits 3, like relay abuse found by scan.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	open, err := probe.Command(ctx, args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case errors.Is(err, probe.ErrUsage):
		return usageError{err.Error()}
	case err != nil:
		return err
	case open:
		return errRelayFound
	}
	return nil
}
