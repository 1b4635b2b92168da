// Package probe runs the classic open-relay test against a mail server the
// admin runs, and its known variants: connect, EHLO, then for each case MAIL
// FROM, RCPT TO and RSET. A 2xx to RCPT TO for an outside recipient means the
// server relays for strangers. One case, as the transcript shows it ("C:"
// sent, "S:" received, "*" the probe's notes):
//
//	C: MAIL FROM:<relaysleuth@example.org>
//	S: 250 2.1.0 Ok
//	C: RCPT TO:<relaytest@relaytest.invalid>
//	S: 554 5.7.1 <relaytest@relaytest.invalid>: Relay access denied
//	* verdict local-sender: refused
//	C: RSET
//	S: 250 2.0.0 Ok
//
// The probe never sends DATA unless Config.SendTo asks for one full message.
// It trusts nothing the server sends: every reply has a deadline and a size
// bound (Limits), server text is escaped before it is printed, and nothing the
// server says is followed (a 551 "try <forward-path>" is a refusal, not a
// redirection) or copied into a command.
package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultExternalDomain is the outside domain of the test recipients when
// Config.ExternalDomain is empty. The .invalid top-level domain is reserved
// (RFC 6761 section 6.4) and never resolves, so a server that accepts it
// cannot deliver to it. A server that checks recipient domains in the DNS
// before its relay check may refuse it for that reason instead; its reply
// text says so, and --external-domain picks a real outside domain.
const DefaultExternalDomain = "relaytest.invalid"

// DefaultTimeout bounds connecting, the TLS handshake and each reply when
// Config.Timeout is zero. RFC 5321 section 4.5.3.2 lets servers take minutes;
// a server that takes more than this to refuse a relay is worth a look anyway.
const DefaultTimeout = 30 * time.Second

// ErrConfig is wrapped by the errors Run returns for a Config it cannot use.
var ErrConfig = errors.New("invalid probe configuration")

// Config says what to probe and how.
type Config struct {
	Host           string        // name or IP address of the server
	Port           int           // 0 means 25
	HeloName       string        // EHLO argument; "" means this machine's FQDN, else our address literal
	LocalDomain    string        // sender domain of the local-sender and send-to cases; "" means the server's name
	ExternalDomain string        // domain of the outside recipients; "" means DefaultExternalDomain
	SendTo         string        // when set, one full message with DATA is sent to this address
	NoTLS          bool          // do not STARTTLS even when the server offers it
	Timeout        time.Duration // for connecting, the TLS handshake and each reply; 0 means DefaultTimeout
	Delay          time.Duration // pause between cases, to stay under the server's rate limits
	Cases          []string      // names from CaseNames to run; empty means all
	Limits         Limits        // zero means DefaultLimits
	// Source is the local address to connect from (--source); the zero
	// Addr lets the system choose. A probe from inside the server's relay
	// networks says nothing about strangers, and a lab host or CI runner
	// often has only such an address by default.
	Source netip.Addr
}

// A Verdict is what a server's reply says about one case.
type Verdict string

// The verdicts. Only Accepted means the server relays.
const (
	Refused      Verdict = "refused"             // 5xx
	TempRefused  Verdict = "temporarily refused" // 4xx
	AuthRequired Verdict = "auth required"       // 530, RFC 4954 section 6
	Accepted     Verdict = "accepted"            // 2xx: an open relay for this form
	Error        Verdict = "error"               // no usable reply: timeout, dropped connection, protocol violation
	// NotTested is a case whose recipient was never sent: the server
	// refused every sender tried at MAIL. It says nothing about relaying.
	NotTested Verdict = "not tested"
)

// verdictFor classifies a reply code.
func verdictFor(code int) Verdict {
	switch {
	case code == 530:
		return AuthRequired
	case code >= 200 && code < 300:
		return Accepted
	case code >= 400 && code < 500:
		return TempRefused
	case code >= 500 && code < 600:
		return Refused
	}
	return Error
}

// A CaseResult is what happened to one case. Sender and Recipient are exactly
// as sent, so that the case can be found in the server's log.
type CaseResult struct {
	Name      string  `json:"name"`
	Sender    string  `json:"sender"`
	Recipient string  `json:"recipient"`
	Stage     string  `json:"stage"` // command whose reply decided: "MAIL", "RCPT" or "DATA"
	Code      int     `json:"code"`  // 0 when there was no reply
	Text      string  `json:"text"`  // reply text without the codes, one line per reply line
	Verdict   Verdict `json:"verdict"`
	Error     string  `json:"error,omitempty"` // why the verdict is "error"
	// Untested says why the verdict is "not tested": the MAIL replies.
	Untested string `json:"not_tested_reason,omitempty"`
	// Marker is the attempt's mark in both local parts, unique to the run
	// and the case (Case.Marker).
	Marker string `json:"marker,omitempty"`
	// Refused are the earlier attempts whose sender the server refused at
	// MAIL, before Sender (the last one tried).
	Refused    []Attempt  `json:"mail_refused,omitempty"`
	Time       time.Time  `json:"time"`      // UTC, when the case started
	ClientIP   netip.Addr `json:"client_ip"` // the probe's end of the connection used
	ClientPort int        `json:"client_port"`
	Log        *CaseLog   `json:"log,omitempty"` // what the server's log says, with --verify-log (Verify)
}

// An Attempt is a sender the server refused at MAIL.
type Attempt struct {
	Sender string `json:"sender"`
	Marker string `json:"marker,omitempty"`
	Code   int    `json:"code"`
	Text   string `json:"text"`
}

// Summary counts the verdicts of a Result.
type Summary struct {
	Cases        int  `json:"cases"`
	Accepted     int  `json:"accepted"`
	Refused      int  `json:"refused"`
	TempRefused  int  `json:"temporarily_refused"`
	AuthRequired int  `json:"auth_required"`
	Errors       int  `json:"errors"`
	NotTested    int  `json:"not_tested"` // MAIL refused for every sender: the recipient never sent
	Open         bool `json:"open"`       // Accepted > 0
}

// Result is the outcome of Run. Times are UTC.
type Result struct {
	Host       string       `json:"host"` // as given in Config
	Port       int          `json:"port"`
	ServerIP   netip.Addr   `json:"server_ip"`
	ServerName string       `json:"server_name"` // as announced in the greeting, when it looked like a name
	ClientIP   netip.Addr   `json:"client_ip"`   // the probe's address on the first connection
	ClientPort int          `json:"client_port"`
	HeloName   string       `json:"helo_name"`
	TLS        string       `json:"tls,omitempty"` // "TLS 1.3" when STARTTLS succeeded
	Run        string       `json:"run"`           // the run's mark, the first part of every case's Marker
	Token      string       `json:"token,omitempty"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
	Cases      []CaseResult `json:"cases"`
	Summary    Summary      `json:"summary"`
	// NotRun counts the cases never tried: the probe was interrupted.
	NotRun     int         `json:"not_run,omitempty"`
	LogSummary *LogSummary `json:"log_summary,omitempty"` // set by Verify
	Warnings   []Warning   `json:"config_warnings,omitempty"`
}

// Open reports whether any case was accepted.
func (r Result) Open() bool {
	for _, c := range r.Cases {
		if c.Verdict == Accepted {
			return true
		}
	}
	return false
}

func summarize(cases []CaseResult) Summary {
	s := Summary{Cases: len(cases)}
	for _, c := range cases {
		switch c.Verdict {
		case Accepted:
			s.Accepted++
		case Refused:
			s.Refused++
		case TempRefused:
			s.TempRefused++
		case AuthRequired:
			s.AuthRequired++
		case NotTested:
			s.NotTested++
		default:
			s.Errors++
		}
	}
	s.Open = s.Accepted > 0
	return s
}

// A ReplyError is a reply that stopped the probe before the cases: a greeting
// other than 220, or both EHLO and HELO refused.
type ReplyError struct {
	Command string // "greeting", "EHLO", "HELO"
	Code    int
	Text    string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: server replied %d %s", e.Command, e.Code, escape(clip(e.Text, 200)))
}

// tlsError is a failed TLS handshake, after which Run connects again
// without TLS.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// Run probes the server of cfg: it connects, reads the greeting, says EHLO
// (HELO if EHLO is refused), starts TLS when offered unless cfg.NoTLS, and
// tries each case of Cases with MAIL FROM, RCPT TO and RSET, pausing
// cfg.Delay between cases; it says QUIT at the end. When the server drops
// the connection or a reply cannot be read, the case's verdict is Error and
// the next case starts on a new connection to the same address. The
// conversation goes to transcript, "C: " for what was sent and "S: " for
// what was received (escaped), "* " for notes.
//
// Run returns an error, with what it has of the Result, when the first
// connection fails or is refused, cfg is unusable (ErrConfig), ctx ends, or
// transcript fails.
func Run(ctx context.Context, cfg Config, transcript io.Writer) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	p := &prober{cfg: cfg, tr: &transcriptWriter{w: transcript}, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	res := Result{Host: cfg.Host, Port: cfg.Port, Start: time.Now().UTC(), Cases: []CaseResult{}}
	finish := func(err error) (Result, error) {
		res.Summary = summarize(res.Cases)
		res.End = time.Now().UTC()
		if err == nil {
			err = ctx.Err()
		}
		if err == nil && p.tr.err != nil {
			err = fmt.Errorf("write transcript: %w", p.tr.err)
		}
		return res, err
	}

	s, err := p.connect(ctx)
	if err != nil {
		return finish(err)
	}
	// Later connections go to the address of the first, so that a name with
	// several addresses cannot spread one probe over several servers.
	p.addr = s.remote.String()
	res.ServerIP, res.ServerName, res.TLS = s.remote.Addr(), s.name, s.tls
	res.ClientIP, res.ClientPort, res.HeloName = s.local.Addr(), int(s.local.Port()), s.helo
	if cfg.SendTo != "" {
		res.Token = rand.Text()
	}

	name := s.name
	if name == "" && sniName(cfg.Host) != "" && validDomain(cfg.Host) {
		name = cfg.Host // the greeting named no host; the user did
	}
	res.Run = newRun()
	cases := cases(cfg, Target{Name: name, IP: s.remote.Addr()}, res.Run)
	for i, c := range cases {
		if i > 0 && !sleep(ctx, cfg.Delay) || ctx.Err() != nil {
			res.NotRun = len(cases) - i
			p.tr.note("interrupted: %d of %d cases not run", res.NotRun, len(cases))
			break
		}
		var cr CaseResult
		cr, s = p.tryCase(ctx, s, c, res.Token)
		res.Cases = append(res.Cases, cr)
	}
	if s != nil {
		p.cmd(s, "QUIT") // the verdicts are in; a bad reply to QUIT changes nothing
		s.close()
	}
	return finish(nil)
}

// newRun returns a mark for one run: eight letters and digits, lower case
// so that a server that folds case logs it unchanged.
func newRun() string {
	return strings.ToLower(rand.Text()[:8])
}

// tryCase runs c on s (or on a new connection when s is nil, or s was
// lost), then its retries while the server refuses the sender at MAIL. It
// returns the result and the session to go on with (nil when lost). A case
// whose every sender was refused at MAIL is NotTested: its recipient, the
// point of the case, was never sent.
func (p *prober) tryCase(ctx context.Context, s *session, c Case, token string) (CaseResult, *session) {
	var refused []Attempt
	attempts := append([]Case{c}, c.Retries...)
	var cr CaseResult
	for i, a := range attempts {
		if i > 0 {
			p.tr.note("case %s: sender <%s> refused at MAIL; trying again with <%s>", c.Name, attempts[i-1].Sender, a.Sender)
		}
		// A connection the server dropped (Exim ends one after
		// smtp_max_synprot_errors syntax errors, each refused address
		// literal counting) is opened again once for the same attempt.
		for redo := 0; redo < 2; redo++ {
			if s == nil {
				var err error
				if s, err = p.connect(ctx); err != nil {
					cr = CaseResult{
						Name: c.Name, Sender: a.Sender, Recipient: a.Recipient, Stage: "connect", Marker: a.Marker,
						Verdict: Error, Error: err.Error(), Time: time.Now().UTC(), Refused: refused,
					}
					return cr, nil
				}
			}
			var ok bool
			cr, ok = p.runCase(s, a, token)
			if !ok {
				p.tr.note("dropping the connection")
				s.close()
				s = nil
			}
			if !(cr.Verdict == Error && cr.Stage == "MAIL") || ctx.Err() != nil {
				break
			}
		}
		cr.Refused = refused
		if cr.Stage != "MAIL" || (cr.Verdict != Refused && cr.Verdict != TempRefused) || cr.Code == 421 {
			return cr, s
		}
		refused = append(refused, Attempt{Sender: a.Sender, Marker: a.Marker, Code: cr.Code, Text: cr.Text})
	}
	if len(refused) == 0 {
		return cr, s
	}
	// Every sender refused at MAIL: the recipient was never sent.
	var why []string
	for _, a := range refused {
		first, _, _ := strings.Cut(a.Text, "\n")
		why = append(why, fmt.Sprintf("<%s> %d %s", a.Sender, a.Code, first))
	}
	cr.Verdict = NotTested
	cr.Untested = "MAIL FROM refused for every sender tried: " + strings.Join(why, "; ")
	cr.Refused = refused[:len(refused)-1]
	p.tr.note("verdict %s: %s", c.Name, cr.Verdict)
	return cr, s
}

// withDefaults checks c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.Host == "" || strings.ContainsFunc(c.Host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
		return bad("host %q", c.Host)
	}
	if c.Port == 0 {
		c.Port = 25
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("port %d", c.Port)
	}
	if c.HeloName != "" && !validDomain(c.HeloName) {
		return bad("HELO name %q", c.HeloName)
	}
	if c.LocalDomain != "" && !validDomain(c.LocalDomain) {
		return bad("local domain %q", c.LocalDomain)
	}
	if c.ExternalDomain == "" {
		c.ExternalDomain = DefaultExternalDomain
	}
	if !validDomain(c.ExternalDomain) {
		return bad("external domain %q", c.ExternalDomain)
	}
	if c.SendTo != "" && !validMailbox(c.SendTo) {
		return bad("send-to address %q", c.SendTo)
	}
	if c.Timeout < 0 || c.Delay < 0 {
		return bad("negative timeout or delay")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits
	}
	if c.Limits.LineBytes < 8 || c.Limits.ReplyBytes < c.Limits.LineBytes || c.Limits.ReplyLines < 1 {
		return bad("limits %+v", c.Limits)
	}
	known := CaseNames()
	for _, n := range c.Cases {
		if !slices.Contains(known, n) {
			return bad("unknown case %q (cases: %s)", n, strings.Join(known, ", "))
		}
	}
	return c, nil
}

// validDomain accepts a host name (letters, digits, '-', '_', '.') or an
// address literal. It keeps anything that could end a command, or start a
// new one, out of what the probe sends.
func validDomain(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	if lit, ok := strings.CutPrefix(s, "["); ok {
		lit, ok = strings.CutSuffix(lit, "]")
		lit = strings.TrimPrefix(lit, "IPv6:")
		_, err := netip.ParseAddr(lit)
		return ok && err == nil
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validMailbox accepts local@domain with a local part of printable ASCII
// other than space and angle brackets.
func validMailbox(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || len(s) > 254 {
		return false
	}
	for _, r := range s[:at] {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' {
			return false
		}
	}
	return validDomain(s[at+1:])
}

// sleep waits d, or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
