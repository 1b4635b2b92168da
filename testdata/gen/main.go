// Command gen writes a synthetic Postfix or Exim log of N lines with its
// ground truth (the verdict every recipient must get, in the columns of the
// corpus labels.csv files) and the policy the truth assumes:
//
//	go run ./testdata/gen -format postfix -lines 1000000 -seed 1 -out bench-out/postfix-1m.log -truth bench-out/postfix-1m.csv
//
// The policy goes to -config, or config.json beside -out when not given.
// The same seed always gives the same bytes. See internal/loggen.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	format := fs.String("format", "postfix", "log `FORMAT`: postfix or exim")
	lines := fs.Int("lines", 10000, "number of `N` lines to write")
	seed := fs.Uint64("seed", 1, "random `SEED`")
	out := fs.String("out", "-", "log `FILE` (- for stdout)")
	truth := fs.String("truth", "", "ground truth CSV `FILE` (default: none)")
	config := fs.String("config", "", "policy JSON `FILE` (default: config.json beside -out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var logw io.Writer = os.Stdout
	if *out != "-" {
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
	st, err := loggen.Generate(logw, truthw, loggen.Options{Format: *format, Lines: *lines, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "gen: %d lines, %d bytes, %d messages, %d recipients, %d relay_abuse\n",
		st.Lines, st.Bytes, st.Messages, st.Recipients, st.Labels[loggen.LabelRelayAbuse])
	return nil
}
