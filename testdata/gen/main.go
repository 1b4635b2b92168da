// Command gen writes a synthetic Postfix or Exim log, or an Exchange log
// set, of N lines with its ground truth (the verdict every recipient must
// get, in the columns of the corpus labels.csv files) and the policy the
// truth assumes:
//
//	go run ./testdata/gen -format postfix -lines 1000000 -seed 1 -out bench-out/postfix-1m.log -truth bench-out/postfix-1m.csv
//	go run ./testdata/gen -format exchange -lines 1000000 -seed 1 -out bench-out/exchange-1m -truth bench-out/exchange-1m.csv
//
// Exchange writes several files, so its -out is a folder, made by gen and
// laid out as a server's TransportRoles\Logs folder: the Front End's SMTP
// receive protocol log in FrontEnd/ProtocolLog/SmtpReceive/RECV*.LOG and the
// message tracking logs in MessageTracking/MSGTRK*.LOG (Transport service),
// MSGTRKMD*.LOG (mailbox deliveries) and MSGTRKMS*.LOG (mailbox
// submissions), a file per log per hour (RECV2026030206-1.LOG) and another
// whenever one reaches 10 MB. -lines counts the lines of all files,
// headers included. Point relaysleuth at the folder: `relaysleuth scan
// bench-out/exchange-1m`.
//
// The policy goes to -config, or config.json beside -out when not given
// (for exchange: beside the folder, not in it). The same seed always gives
// the same bytes. See internal/loggen.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/relaysleuth/relaysleuth/internal/loggen"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "postfix", "log `FORMAT`: postfix, exim or exchange")
	lines := fs.Int("lines", 10000, "number of `N` lines to write (exchange: in all files, headers included)")
	seed := fs.Uint64("seed", 1, "random `SEED`")
	out := fs.String("out", "-", "log `FILE` (- for stdout); for exchange a new or empty folder for its RECV and MSGTRK files")
	truth := fs.String("truth", "", "ground truth CSV `FILE` (default: none)")
	config := fs.String("config", "", "policy JSON `FILE` (default: config.json beside -out)")
	start := fs.String("start", "", "`TIME` of the first line, RFC 3339 (default 2026-03-02T06:00:00Z)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt := loggen.Options{Format: *format, Lines: *lines, Seed: *seed}
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("-start: %w", err)
		}
		opt.Start = t
	}
	var logw io.Writer = os.Stdout
	if *format == "exchange" {
		if *out == "-" {
			return fmt.Errorf("-format exchange writes several files: -out must name a folder")
		}
		if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
			// Files of an earlier run would be read with the new ones.
			return fmt.Errorf("-out %s: folder not empty", *out)
		}
		opt.Dir = *out
		logw = io.Discard
	} else if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	truthw := io.Discard
	if *truth != "" {
		f, err := os.Create(*truth)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		truthw = bw
	}
	if *config == "" && *out != "-" {
		*config = filepath.Join(filepath.Dir(*out), "config.json")
	}
	if *config != "" {
		f, err := os.Create(*config)
		if err != nil {
			return err
		}
		if err := loggen.WriteConfig(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	st, err := loggen.Generate(logw, truthw, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "gen: %d lines, %d bytes, %d files, %d messages, %d recipients, %d relay_abuse\n",
		st.Lines, st.Bytes, st.Files, st.Messages, st.Recipients, st.Labels[loggen.LabelRelayAbuse])
	return nil
}
