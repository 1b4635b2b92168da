package probe

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A LogRecord is one thing the server's log says about a client: a
// recipient it refused or accepted (with what became of the message), or,
// with an empty Recipient, a queue file opened for the client without a
// recipient in the log (Postfix "QUEUEID: client=" when the client never
// sent DATA).
type LogRecord struct {
	Time      time.Time // UTC
	ClientIP  netip.Addr
	Sender    string // as logged; "" is the null sender
	Recipient string // as logged
	QueueID   string
	Status    string   // "rejected", "sent", "deferred", "bounced", "queued", "expired"; "" for a bare queue file
	Reply     string   // the refusal as logged, "5.7.1 RCPT: <x@y>: Relay access denied"
	Verdict   string   // the log correlator's verdict, "relay_attempt_rejected"
	Evidence  []string // "mail.log:1042"
	Raw       string   // the line as read, where the case's marker may be when the fields lost it
}

// A LogStatus is what the server's log says became of one case.
type LogStatus string

// The log statuses. LogAccepted is a recipient the server took without a
// message following (the probe sends no DATA): the log shows only the
// queue file opened for it.
const (
	LogRefused  LogStatus = "refused"
	LogAccepted LogStatus = "accepted"
	LogSent     LogStatus = "sent"
	LogDeferred LogStatus = "deferred"
	LogBounced  LogStatus = "bounced"
	LogQueued   LogStatus = "queued"
	LogMissing  LogStatus = "not in the log"
)

// A CaseLog is what the server's log says about one case: the line(s) the
// probe's own attempt left there.
type CaseLog struct {
	Status    LogStatus `json:"status"`
	Reply     string    `json:"reply,omitempty"` // the refusal as logged
	QueueID   string    `json:"queue_id,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	Sender    string    `json:"sender,omitempty"`    // as logged
	Recipient string    `json:"recipient,omitempty"` // as logged, often canonicalised
	Verdict   string    `json:"verdict,omitempty"`   // the log correlator's verdict
	Match     string    `json:"match,omitempty"`     // how the line was tied to the case: "marker", else "exact", "canonical", "recipient", "session"
	Evidence  []string  `json:"evidence,omitempty"`
	// MailRefused is the evidence of the earlier attempts, whose senders
	// the server refused at MAIL (CaseResult.Refused).
	MailRefused []string `json:"mail_refused_evidence,omitempty"`
	Finding     string   `json:"finding,omitempty"` // what the log adds to, or says against, the probe's verdict
}

// LogSummary counts what the log said about the cases.
type LogSummary struct {
	Files    []string `json:"files"`
	Found    int      `json:"found"`
	Missing  int      `json:"not_in_log"`
	Disagree int      `json:"disagree"` // the log and the probe's verdict tell different stories
	Relayed  int      `json:"relayed"`  // cases the log shows delivered, deferred or queued for the outside
}

// How Verify tied a log record to a case, strictest first. A record is
// used for one case at most.
const (
	matchMarker    = "marker"    // the case's marker in the line: nothing else can be its
	matchExact     = "exact"     // sender and recipient as sent
	matchCanonical = "canonical" // the same after the server's canonicalisation
	matchRecipient = "recipient" // the recipient alone, canonicalised
	matchSession   = "session"   // an accepted case and a queue file opened for the client in its time
)

// stampSlack widens every time window: syslog stamps have whole seconds.
const stampSlack = time.Second

// Verify finds each case of res in recs, the server's log, and sets the
// case's Log. A record belongs to a case when it comes from the case's client
// address, falls between the case's start and the next case's (widened by
// skew, the difference between the probe's and the server's clocks), and
// names the case's addresses. Servers log addresses canonicalised (Postfix
// drops a source route and quotes; Exim qualifies), so the addresses are
// compared strictly first and leniently after. An accepted case whose
// recipient is not in the log is tied to a queue file opened for the client
// in its time, since a server logs a recipient only once a message follows.
//
// Verify returns the counts, with files naming the logs read.
func Verify(res *Result, recs []LogRecord, skew time.Duration, files []string) LogSummary {
	if skew < 0 {
		skew = -skew
	}
	sorted := slices.Clone(recs)
	// Log order, not only time: stamps have whole seconds, and the cases
	// of one second are told apart by the order of their lines.
	slices.SortStableFunc(sorted, func(a, b LogRecord) int {
		if c := a.Time.Truncate(time.Second).Compare(b.Time.Truncate(time.Second)); c != 0 {
			return c
		}
		fa, la := firstPos(a.Evidence)
		fb, lb := firstPos(b.Evidence)
		if c := strings.Compare(fa, fb); c != 0 {
			return c
		}
		if la != lb {
			return la - lb
		}
		return a.Time.Compare(b.Time)
	})
	logs := markerLogs(res, sorted)
	// What the markers did not settle (a Postfix queue file opened for an
	// accepted case logs no address; a log of a probe without markers) is
	// aligned by time, client and address below, among the cases and
	// records left.
	taken := make([]bool, len(sorted))
	if res.Run != "" {
		for j, r := range sorted {
			// Ours, tied above; or another run's (a probe just before
			// this one, from the same address): never this run's case.
			taken[j] = markerRE.MatchString(r.Recipient + " " + r.Sender + " " + r.Raw)
		}
	}

	window := func(i int) (lo, hi time.Time) {
		c := res.Cases[i]
		end := res.End
		if i+1 < len(res.Cases) {
			end = res.Cases[i+1].Time
		}
		if end.Before(c.Time) {
			end = c.Time
		}
		return c.Time.Add(-skew - stampSlack), end.Add(skew + stampSlack)
	}
	// Tie quality: 0 means the record cannot be the case's.
	score := func(i, j int) (int, string) {
		c, r := res.Cases[i], sorted[j]
		if logs[i] != nil || taken[j] {
			return 0, ""
		}
		lo, hi := window(i)
		if !c.ClientIP.IsValid() || r.ClientIP.Unmap() != c.ClientIP.Unmap() || r.Time.Before(lo) || r.Time.After(hi) {
			return 0, ""
		}
		switch {
		case r.Recipient == "" && r.Status == "" && c.Verdict == Accepted:
			return 1, matchSession // a queue file opened, not a refused sender
		case r.Recipient == "":
			return 0, ""
		case strings.EqualFold(r.Recipient, c.Recipient) && strings.EqualFold(r.Sender, c.Sender):
			return 4, matchExact
		case sameAddr(r.Recipient, c.Recipient) && sameAddr(r.Sender, c.Sender):
			return 3, matchCanonical
		case sameAddr(r.Recipient, c.Recipient):
			return 2, matchRecipient
		}
		return 0, ""
	}
	// The cases ran one after the other and the server logged them in
	// that order, so the ties keep both orders: the best such alignment
	// (as in a longest common subsequence) wins. Tying each case to its
	// best record alone would let a case take the line of a later case
	// whose address the server canonicalised into the same form.
	n, m := len(res.Cases), len(sorted)
	best := make([][]int, n+1)
	for i := range best {
		best[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			b := max(best[i+1][j], best[i][j+1])
			if sc, _ := score(i, j); sc > 0 {
				b = max(b, sc+best[i+1][j+1])
			}
			best[i][j] = b
		}
	}
	for i, j := 0, 0; i < n && j < m; {
		sc, how := score(i, j)
		switch {
		case sc > 0 && best[i][j] == sc+best[i+1][j+1]:
			logs[i] = caseLog(sorted[j], how)
			taken[j] = true
			i, j = i+1, j+1
		case best[i][j] == best[i+1][j]:
			i++
		default:
			j++
		}
	}

	sum := LogSummary{Files: files}
	if sum.Files == nil {
		sum.Files = []string{}
	}
	for i := range res.Cases {
		c := &res.Cases[i]
		l := logs[i]
		if l == nil {
			l = &CaseLog{Status: LogMissing}
		}
		l.Finding = finding(*c, *l)
		c.Log = l
		switch {
		case l.Status == LogMissing:
			sum.Missing++
		default:
			sum.Found++
		}
		if disagree(c.Verdict, l.Status) {
			sum.Disagree++
		}
		if l.Status == LogSent || l.Status == LogDeferred || l.Status == LogQueued {
			sum.Relayed++
		}
	}
	res.LogSummary = &sum
	return sum
}

// markerLogs ties each case to the records that carry its markers, in
// log order: the last attempt's lines give the case's log, the earlier
// attempts' (senders refused at MAIL) their evidence. A line is tied to one
// case at most, since a marker names one attempt of one run. The same
// refusal in two files (Exim's mainlog and its rejectlog copy) is one
// finding with both lines as evidence.
func markerLogs(res *Result, sorted []LogRecord) []*CaseLog {
	logs := make([]*CaseLog, len(res.Cases))
	if res.Run == "" {
		return logs
	}
	type ref struct {
		i     int
		final bool
	}
	byMarker := map[string]ref{}
	for i, c := range res.Cases {
		if c.Marker != "" {
			byMarker[c.Marker] = ref{i, true}
		}
		for _, a := range c.Refused {
			if a.Marker != "" {
				byMarker[a.Marker] = ref{i, false}
			}
		}
	}
	final := make([][]LogRecord, len(res.Cases))
	earlier := make([][]string, len(res.Cases))
	for _, r := range sorted {
		m, _, ok := findMarker(r, res.Run)
		if !ok {
			continue
		}
		x, ok := byMarker[m]
		if !ok {
			continue
		}
		if x.final {
			final[x.i] = append(final[x.i], r)
		} else {
			earlier[x.i] = appendNew(earlier[x.i], r.Evidence...)
		}
	}
	for i, recs := range final {
		c := res.Cases[i]
		if len(recs) == 0 {
			if len(earlier[i]) > 0 {
				logs[i] = &CaseLog{Status: LogMissing, MailRefused: earlier[i]}
			}
			continue
		}
		// The line that decided: a recipient's when the case reached RCPT,
		// the sender's refusal when it stopped at MAIL.
		best := 0
		for j, r := range recs {
			if (r.Recipient != "") == (c.Stage != "MAIL") && (recs[best].Recipient != "") != (c.Stage != "MAIL") {
				best = j
			}
		}
		l := caseLog(recs[best], matchMarker)
		l.Evidence = nil
		for _, r := range recs {
			l.Evidence = appendNew(l.Evidence, r.Evidence...)
		}
		l.MailRefused = earlier[i]
		logs[i] = l
	}
	return logs
}

// markerRE matches any run's marker in the probe's local parts.
var markerRE = regexp.MustCompile(`(?i)relay(?:sleuth|test)-[a-z2-7]{8}-\d\d[a-z]`)

// findMarker returns the marker of run in r's addresses or line
// ("relaytest-RUN-05a@…" gives "RUN-05a") and the case number in it.
func findMarker(r LogRecord, run string) (string, int, bool) {
	for _, s := range [...]string{r.Recipient, r.Sender, r.Raw} {
		lower := strings.ToLower(s)
		for _, local := range [...]string{recipientLocal, senderLocal} {
			k := strings.Index(lower, local+"-"+run+"-")
			if k < 0 {
				continue
			}
			rest := lower[k+len(local)+1+len(run)+1:]
			if len(rest) < 3 || rest[2] < 'a' || rest[2] > 'z' {
				continue
			}
			n, err := strconv.Atoi(rest[:2])
			if err != nil {
				continue
			}
			return run + "-" + rest[:3], n, true
		}
	}
	return "", 0, false
}

// appendNew appends the strings of add not in list yet.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// firstPos splits the first "file:line" of evidence.
func firstPos(evidence []string) (string, int) {
	if len(evidence) == 0 {
		return "", 0
	}
	i := strings.LastIndexByte(evidence[0], ':')
	if i < 0 {
		return evidence[0], 0
	}
	n, _ := strconv.Atoi(evidence[0][i+1:])
	return evidence[0][:i], n
}

func caseLog(r LogRecord, match string) *CaseLog {
	l := &CaseLog{
		Reply: r.Reply, QueueID: r.QueueID, Time: r.Time, Sender: r.Sender, Recipient: r.Recipient,
		Verdict: r.Verdict, Match: match, Evidence: r.Evidence,
	}
	switch r.Status {
	case "rejected":
		l.Status = LogRefused
	case "sent":
		l.Status = LogSent
	case "deferred":
		l.Status = LogDeferred
	case "bounced", "expired":
		l.Status = LogBounced
	case "":
		l.Status = LogAccepted
	default:
		l.Status = LogQueued
	}
	return l
}

// disagree reports whether the probe saw one thing and the log says another.
func disagree(v Verdict, s LogStatus) bool {
	switch s {
	case LogMissing:
		return false
	case LogRefused:
		return v == Accepted
	}
	if v == NotTested {
		return false // the log shows a recipient of an attempt the probe saw refused at MAIL: ruled out by the markers
	}
	return v != Accepted
}

// finding says, in a sentence, what the log adds to the probe's verdict.
func finding(c CaseResult, l CaseLog) string {
	switch {
	case l.Status == LogMissing && c.Verdict == Error:
		return "not in the log: the case got no usable reply either"
	case l.Status == LogMissing && c.Verdict == Accepted:
		return "not in the log: the server accepted the recipient but logged nothing for it; check that this is the server's log and its time zone (--timezone)"
	case l.Status == LogMissing && c.Code == 501:
		return "not in the log: servers often do not log a syntax error (501)"
	case l.Status == LogMissing:
		return "not in the log: the refusal was not logged, or the log is not this server's (check --timezone and --clock-skew)"
	case c.Verdict == NotTested && l.Status == LogRefused:
		return "not tested: the log shows the server refusing the sender at MAIL, as the probe saw"
	case c.Verdict == NotTested && l.Status == LogMissing:
		return "not tested, and the MAIL refusal is not in the log"
	case l.Status == LogRefused && c.Verdict == Accepted:
		return "the probe got a 2xx, but the log records a refusal"
	case l.Status == LogRefused:
		return "refused, as the probe saw"
	case c.Verdict != Accepted:
		return fmt.Sprintf("the probe saw %s, but the log shows the recipient %s", c.Verdict, l.Status)
	case l.Status == LogAccepted:
		return "accepted at RCPT; no message followed (the probe sends no DATA), so nothing left the server"
	case l.Status == LogBounced:
		return "accepted, then bounced: the server took the recipient but did not deliver outside (backscatter risk, not a delivered relay)"
	case l.Status == LogSent:
		return "accepted and delivered to the outside: a real relay"
	case l.Status == LogDeferred:
		return "accepted and waiting in the queue for delivery outside: a real relay"
	}
	return "accepted and queued"
}

// sameAddr compares two addresses the way a server may have rewritten
// them: case, quotes and angle brackets do not count, nor does a source
// route ("@a,@b:user@c" is user@c, RFC 5321 section 4.1.1.3 and Postfix
// smtpd), nor a domain added to an unqualified address.
func sameAddr(logged, sent string) bool {
	a, b := canonAddr(logged), canonAddr(sent)
	if a == b {
		return true
	}
	if a == "" || b == "" {
		return false
	}
	// "user" logged as "user@probe.test": one side qualified by the server.
	return strings.HasPrefix(a, b+"@") && !strings.Contains(a[len(b)+1:], "@") ||
		strings.HasPrefix(b, a+"@") && !strings.Contains(b[len(a)+1:], "@")
}

func canonAddr(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	s = strings.ReplaceAll(s, `"`, "")
	s = strings.ReplaceAll(s, `\`, "")
	if strings.HasPrefix(s, "@") {
		if _, rest, ok := strings.Cut(s, ":"); ok {
			s = rest
		}
	}
	return s
}
