// Package loggen writes synthetic mail server logs for tests and
// benchmarks: Postfix (traditional syslog) and Exim mainlogs, or the
// transport logs of an Exchange 2019 server (Front End SMTP receive protocol
// log and message tracking logs, see exchange.go), of a chosen number of
// lines, with interleaved concurrent SMTP sessions and about one recipient in
// a hundred relayed for an unauthenticated outside client. Next to the log it
// writes the ground truth, the verdict every recipient must get, in the
// columns of the corpus labels.csv files, and the policy (local domains,
// trusted networks) the truth assumes.
//
// The output depends only on the Options: the same seed gives the same bytes.
// Memory stays small however many lines are asked for: only the lines of the
// sessions still in flight are held.
package loggen

import (
	"bufio"
	"container/heap"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Options say what to generate.
type Options struct {
	Format string // "postfix", "exim" or "exchange"
	// Lines is the exact number of lines to write; for exchange, in all
	// files together, their header lines included.
	Lines int
	Seed  uint64
	// Start is the time of the first line; zero means 2026-03-02 06:00 UTC.
	// Stamps are written in UTC.
	Start time.Time
	// Dir is the folder the exchange format writes its files under, laid
	// out as an Exchange server's TransportRoles\Logs folder (see
	// ExchangeFiles); it is created if needed. The other formats write to
	// Generate's log writer instead.
	Dir string
}

// Stats counts what was generated.
type Stats struct {
	Lines      int
	Bytes      int64
	Files      int            // files written (exchange; 1 for the other formats)
	Messages   int            // queue files
	Recipients int            // truth rows for recipients
	Labels     map[string]int // truth rows per label
}

// Config is the policy the truth assumes, in the shape of relaysleuth's
// --config file.
type Config struct {
	LocalDomains    []string `json:"local_domains"`
	TrustedNetworks []string `json:"trusted_networks"`
}

// Policy returns the policy of every generated log.
func Policy() Config {
	return Config{
		LocalDomains:    append([]string(nil), localDomains...),
		TrustedNetworks: []string{"127.0.0.1/32", "10.20.0.0/16"},
	}
}

// WriteConfig writes Policy as JSON.
func WriteConfig(w io.Writer) error {
	b, err := json.MarshalIndent(Policy(), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// The labels the truth uses: relaysleuth's verdicts, and auth_failure for a
// failed SASL login (a row per attempt, keyed by client address).
const (
	LabelRelayAbuse     = "relay_abuse"
	LabelRelayRejected  = "relay_attempt_rejected"
	LabelInbound        = "inbound"
	LabelInternal       = "internal_outbound"
	LabelAuthenticated  = "authenticated_outbound"
	LabelForwarded      = "forwarded"
	LabelSystemBounce   = "system_bounce"
	LabelAuthFailure    = "auth_failure"
	defaultStartUnixSec = 1772431200 // 2026-03-02 06:00:00 UTC
)

// TruthHeader is the first row of the truth CSV: the columns of the corpus
// labels.csv files.
var TruthHeader = []string{"mta", "message_id", "queue_id", "client_ip", "authenticated", "sender", "recipient", "label", "notes"}

// truthRow is one recipient's expected verdict.
type truthRow struct {
	messageID, queueID, clientIP string
	auth                         bool
	sender, rcpt, label, notes   string
}

// line is one log line waiting for its time.
type line struct {
	atMs   int64
	seq    uint64
	stream uint8  // which file of a multi-file log (exchange) it goes to
	text   string // without the stamp
}

type lineHeap []line

func (h lineHeap) Len() int { return len(h) }
func (h lineHeap) Less(i, j int) bool {
	if h[i].atMs != h[j].atMs {
		return h[i].atMs < h[j].atMs
	}
	return h[i].seq < h[j].seq
}
func (h lineHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lineHeap) Push(x any)   { *h = append(*h, x.(line)) }
func (h *lineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// gen is the state of one run.
type gen struct {
	opt   Options
	rng   *rand.Rand
	mta   string
	stamp func(b []byte, t time.Time) []byte
	// write writes one line in its time order; reserve is how many of
	// opt.Lines to leave to lines not planned by sessions (exchange
	// headers). Both are set per format.
	write   func(l line) error
	reserve func() int

	pending lineHeap
	seq     uint64
	planned int // lines pushed so far
	lastSec int64
	stampB  []byte

	out   *bufio.Writer
	truth *csv.Writer
	stats Stats
	count uint64 // counter behind unique ids and addresses

	clients  []client // outside clients
	abusers  []client // the few outside clients that find the open relay
	insiders []client // clients in the trusted networks

	// session is the session being built; its lines and truth rows are
	// committed together only when they fit in opt.Lines.
	cur struct {
		lines []line
		truth []truthRow
		msgs  int
	}
}

// Generate writes opt.Lines lines of log to logw and the ground truth CSV
// to truthw.
func Generate(logw, truthw io.Writer, opt Options) (Stats, error) {
	g := &gen{
		opt:   opt,
		rng:   rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		out:   bufio.NewWriterSize(logw, 256<<10),
		truth: csv.NewWriter(truthw),
		stats: Stats{Labels: map[string]int{}},
	}
	if g.opt.Start.IsZero() {
		g.opt.Start = time.Unix(defaultStartUnixSec, 0)
	}
	g.opt.Start = g.opt.Start.UTC()
	g.write, g.reserve = g.writeSyslog, func() int { return 0 }
	var m sim
	var ex *exchange
	switch opt.Format {
	case "postfix":
		g.mta = "postfix"
		g.stamp = func(b []byte, t time.Time) []byte { return t.AppendFormat(b, "Jan _2 15:04:05") }
		m = newPostfix(g)
	case "exim":
		g.mta = "exim"
		g.stamp = func(b []byte, t time.Time) []byte { return t.AppendFormat(b, "2006-01-02 15:04:05") }
		m = newExim(g)
	case "exchange":
		if opt.Dir == "" {
			return g.stats, fmt.Errorf("exchange writes several files: Options.Dir must name a folder")
		}
		if opt.Lines < exMinLines {
			return g.stats, fmt.Errorf("exchange needs at least %d lines, got %d", exMinLines, opt.Lines)
		}
		g.mta = "exchange"
		ex = newExchange(g)
		defer ex.files.close() // on an error; a no-op after the close below
		g.write, g.reserve = ex.files.write, ex.files.reserve
		m = ex
	default:
		return g.stats, fmt.Errorf("unknown format %q (want postfix, exim or exchange)", opt.Format)
	}
	if err := g.truth.Write(TruthHeader); err != nil {
		return g.stats, err
	}
	g.makeClients()

	now := g.opt.Start.UnixMilli()
	m.start(now)
	g.commit()
	now += 1000
	for g.planned < opt.Lines-g.reserve() {
		// Sessions arrive at random, about three a second, so that a
		// handful are open at any time and their lines interleave.
		now += 1 + int64(g.rng.ExpFloat64()*330)
		if err := g.flush(now); err != nil {
			return g.stats, err
		}
		g.reset()
		g.scenario(m, now)
		if g.planned+len(g.cur.lines) > opt.Lines-g.reserve() {
			// It does not fit: fill the rest with lines of no interest.
			g.reset()
			if ex != nil {
				break // after the last lines are out, see below
			}
			for g.planned < opt.Lines {
				now += int64(g.rng.IntN(2000))
				m.noise(now)
				g.commit()
			}
			break
		}
		g.commit()
	}
	if err := g.flush(1 << 62); err != nil {
		return g.stats, err
	}
	if ex != nil {
		if err := ex.fill(opt.Lines - g.stats.Lines); err != nil {
			return g.stats, err
		}
		if err := ex.files.close(); err != nil {
			return g.stats, err
		}
		if g.stats.Lines != opt.Lines {
			return g.stats, fmt.Errorf("exchange: wrote %d lines, want %d", g.stats.Lines, opt.Lines)
		}
	} else {
		g.stats.Files = 1
	}
	if err := g.out.Flush(); err != nil {
		return g.stats, err
	}
	g.truth.Flush()
	return g.stats, g.truth.Error()
}

// mtaSim writes the lines of one MTA that belong to no session.
type mtaSim interface {
	start(atMs int64) // lines at start-up
	noise(atMs int64) // one line no parser cares about
}

// add schedules a line of the current session.
func (g *gen) add(atMs int64, text string) { g.addTo(0, atMs, text) }

// addTo schedules a line of the current session for a stream (a file of a
// multi-file log).
func (g *gen) addTo(stream uint8, atMs int64, text string) {
	g.seq++
	g.cur.lines = append(g.cur.lines, line{atMs: atMs, seq: g.seq, stream: stream, text: text})
}

// label records the expected verdict of a recipient of the current session.
func (g *gen) label(r truthRow) { g.cur.truth = append(g.cur.truth, r) }

func (g *gen) reset() {
	g.cur.lines, g.cur.truth, g.cur.msgs = g.cur.lines[:0], g.cur.truth[:0], 0
}

// commit moves the current session's lines into the queue and its truth
// rows into the CSV.
func (g *gen) commit() {
	for _, l := range g.cur.lines {
		heap.Push(&g.pending, l)
	}
	g.planned += len(g.cur.lines)
	for _, r := range g.cur.truth {
		auth := "no"
		if r.auth {
			auth = "yes"
		}
		_ = g.truth.Write([]string{g.mta, r.messageID, r.queueID, r.clientIP, auth, r.sender, r.rcpt, r.label, r.notes})
		g.stats.Labels[r.label]++
		if r.label != LabelAuthFailure {
			g.stats.Recipients++
		}
	}
	g.stats.Messages += g.cur.msgs
	g.reset()
}

// flush writes the queued lines stamped before untilMs.
func (g *gen) flush(untilMs int64) error {
	for len(g.pending) > 0 && g.pending[0].atMs < untilMs {
		if err := g.write(heap.Pop(&g.pending).(line)); err != nil {
			return err
		}
	}
	return nil
}

// writeSyslog writes a line of a single-file log: stamp, space, text.
func (g *gen) writeSyslog(l line) error {
	if sec := l.atMs / 1000; sec != g.lastSec || g.stampB == nil {
		g.lastSec = sec
		g.stampB = g.stamp(g.stampB[:0], time.Unix(sec, 0).UTC())
	}
	g.out.Write(g.stampB)
	g.out.WriteByte(' ')
	g.out.WriteString(l.text)
	n, err := g.out.WriteString("\n")
	if err != nil {
		return err
	}
	g.stats.Bytes += int64(len(g.stampB) + 1 + len(l.text) + n)
	g.stats.Lines++
	return nil
}

// next returns a fresh counter value.
func (g *gen) next() uint64 {
	g.count++
	return g.count
}

// between returns a random duration in [lo, hi] milliseconds.
func (g *gen) between(lo, hi int) int64 { return int64(lo + g.rng.IntN(hi-lo+1)) }

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// secs formats milliseconds as Postfix writes delays: "0.03", "1.2", "0".
func secs(ms int64) string {
	return strconv.FormatFloat(float64(ms/10)/100, 'f', -1, 64)
}

// messageID returns a Message-ID (without angle brackets) for a message
// submitted at atMs from domain.
func (g *gen) messageID(atMs int64, domain string) string {
	t := time.UnixMilli(atMs).UTC()
	return fmt.Sprintf("%s.%010x.%d@%s", t.Format("20060102150405"), g.rng.Uint64()>>24, g.next(), domain)
}
