// Command relaysleuth reads mail server logs (Postfix, Exim, Exchange) and
// answers, with evidence: is this server relaying mail for strangers?
package main

import (
	"context"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets one: the
// garbage collector works harder near it instead of letting garbage grow
// to twice the live heap (under 150 MB of RSS on a 5M-line log, SQLite's
// page caches included). Soft: a run that needs more gets more.
const memoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdin).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// noMemoryLimit lifts the soft limit main set, unless GOMEMLIMIT set one:
// for a report, whose memory is what it counts (traffic's senders,
// recipients and domains) rather than a stream's batches. Past the limit
// the collector runs all the time: report traffic over a 20M-line
// database took 149 s on both cores with it, 50-55 s without (410-520
// MB of memory for traffic and forensic).
func noMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
