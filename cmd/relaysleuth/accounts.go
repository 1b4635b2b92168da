package main

import (
	"context"
	"fmt"
	"io"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/schema"
)

// printAccounts renders 'report accounts': one row per SASL account,
// taken-over ones first. It returns the number of compromised accounts.
func printAccounts(ctx context.Context, store *schema.Store, w io.Writer, format string) (int, error) {
	accts, err := store.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	compromised := analysis.Compromised(accts)
	if format == "json" {
		return compromised, writeJSON(w, analysis.AccountsJSON(accts))
	}
	l := layout(w, format)
	t := analysis.AccountsTable(accts, l)
	if format == "csv" {
		return compromised, writeCSV(w, t.Columns, t.Rows)
	}
	if len(t.Rows) == 0 {
		// Accounts are judged at the end of ingest, scan and rejudge (and
		// by tail): a database older than the accounts table has none yet.
		fmt.Fprintln(w, "No SASL account judged: none sent mail, or the database predates account judging (run relaysleuth rejudge).")
		return 0, nil
	}
	say(w, analysis.AccountsHeadline(accts, l))
	return compromised, writeTable(w, t)
}
