package pipeline

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/relaysleuth/relaysleuth/analysis"
	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// A ProbeQuery asks what a server's logs say about an active relay test
// (relaysleuth probe --verify-log): its client addresses in its time.
type ProbeQuery struct {
	Paths        []string // the logs, already ingested into the store
	ClientIPs    []netip.Addr
	Since, Until time.Time
}

// A ProbeRecord is one recipient, refusal or bare queue file of the
// probe's clients. Its fields are those of probe.LogRecord, which it
// converts to (package probe reads no logs, and pipeline does not import
// it).
type ProbeRecord struct {
	Time      time.Time // UTC
	ClientIP  netip.Addr
	Sender    string
	Recipient string
	QueueID   string
	Status    string // analysis.StatusRejected, "sent", ...; "" for a bare queue file
	Reply     string // the refusal as logged
	Verdict   string
	Evidence  []string
	Raw       string
}

// ProbeLog returns what store and q.Paths say about q's client addresses
// in its time: every recipient (refused, or accepted and what became of
// it), and every queue file opened with no recipient logged, as Postfix
// logs "QUEUEID: client=..." for a client that never sends DATA.
func ProbeLog(ctx context.Context, store *schema.Store, q ProbeQuery, opts Options, log io.Writer) ([]ProbeRecord, error) {
	var recs []ProbeRecord
	queues := map[string]bool{}
	for _, ip := range q.ClientIPs {
		f := analysis.Filter{ClientIP: ip.String(), Since: q.Since, Until: q.Until}
		err := store.Recipients(ctx, f, func(r analysis.Recipient) error {
			if r.Status == analysis.StatusRejected {
				return nil // taken line by line below: the store keeps one of identical refusals
			}
			addr, _ := netip.ParseAddr(r.ClientIP)
			queues[r.QueueID] = true
			recs = append(recs, ProbeRecord{
				Time: r.Time.UTC(), ClientIP: addr, Sender: r.Sender, Recipient: r.Recipient,
				QueueID: r.QueueID, Status: r.Status, Verdict: string(r.Verdict), Evidence: r.Evidence,
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	lines, err := probeLines(ctx, q, opts, log)
	if err != nil {
		return nil, err
	}
	for _, r := range lines {
		if r.Status != "" || !queues[r.QueueID] {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// probeLines scans the logs for the refusals and the queue files opened
// for the probe's addresses in its time. The store cannot give either: it
// keeps one of identical refusals (the probe makes several that the server
// logs alike once canonicalised), and no queue file without a recipient,
// as for a client that never sent DATA.
func probeLines(ctx context.Context, q ProbeQuery, opts Options, log io.Writer) ([]ProbeRecord, error) {
	var recs []ProbeRecord
	err := Events(ctx, q.Paths, opts, log, func(ev parsers.Event) error {
		opened := ev.Kind == parsers.KindClient && ev.QueueID != ""
		// A refused recipient, or a refused sender (Exim's "SMTP syntax
		// error in \"MAIL FROM:<…>\" … domain literals not allowed"): the
		// probe tries the case again with another sender, and the line
		// is evidence of the attempt.
		refused := ev.Kind == parsers.KindReject && (ev.Rcpt != "" || strings.HasPrefix(ev.Reason, "MAIL"))
		if !opened && !refused || ev.Time.Before(q.Since) || !ev.Time.Before(q.Until) || !slices.Contains(q.ClientIPs, ev.ClientIP.Unmap()) {
			return nil
		}
		r := ProbeRecord{Time: ev.Time.UTC(), ClientIP: ev.ClientIP.Unmap(), QueueID: ev.QueueID, Evidence: []string{ev.Pos.String()}, Raw: ev.Raw}
		if refused {
			r.Sender, r.Recipient, r.Status = ev.From, ev.Rcpt, analysis.StatusRejected
			r.Reply = strings.TrimSpace(ev.DSN + " " + ev.Reason)
			r.Verdict = string(analysis.RelayAttemptRejected)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}
