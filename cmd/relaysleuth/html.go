package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// policyInForce is the policy given to this report, or a note that none
// was.
func (f *reportFlags) policyInForce() analysis.PolicyNote {
	if p, err := f.policy(); err == nil {
		return analysis.NoteOf(&p, f.policySource())
	}
	return analysis.NoteOf(nil, "")
}

// writeForensic writes report forensic in the format asked for.
func writeForensic(ctx context.Context, store *schema.Store, f *reportFlags, filter analysis.Filter, w io.Writer) (int, error) {
	r, err := analysis.ForensicOf(ctx, store, filter, f.policyInForce())
	if err != nil {
		return 0, err
	}
	r.Headline = analysis.ForensicHeadline(r, analysis.Layout{Zone: displayZone})
	n := r.Summary.Verdicts[analysis.RelayAbuse]
	switch f.outputFormat {
	case "html":
		return n, renderHTML(w, r)
	case "json":
		return n, writeJSON(w, r)
	case "csv":
		return n, printTimeline(w, "csv", r.Timeline)
	}
	say(w, clean(r.Headline))
	fmt.Fprintln(w)
	if err := printTimeline(w, "table", r.Timeline); err != nil {
		return n, err
	}
	fmt.Fprintln(w)
	say(w, "Traffic: "+strconv.Itoa(r.Traffic.Totals.Received)+" received, "+strconv.Itoa(r.Traffic.Totals.Delivered)+
		" delivered, "+strconv.Itoa(r.Traffic.Totals.Rejected)+" rejected (report traffic has the rest; --format html the whole report)")
	return n, nil
}

// openOutput returns where the report goes: w, or the --output file. done
// closes the file and, on an error, removes it: no half-written report is
// left to be attached to a mail.
func (f *reportFlags) openOutput(w io.Writer) (io.Writer, func(error) error, error) {
	if f.output == "" || f.output == "-" {
		return w, func(err error) error { return err }, nil
	}
	file, err := createPrivate(f.output, f.group)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return file, func(err error) error {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--output: %w", cerr)
		}
		if err != nil {
			os.Remove(f.output)
		}
		return err
	}, nil
}

// joinOr is ss joined with ", ", or "-" when there is none.
func joinOr(ss []string) string {
	if len(ss) == 0 {
		return "-"
	}
	return strings.Join(ss, ", ")
}
