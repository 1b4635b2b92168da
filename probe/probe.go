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
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
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
	Name       string     `json:"name"`
	Sender     string     `json:"sender"`
	Recipient  string     `json:"recipient"`
	Stage      string     `json:"stage"` // command whose reply decided: "MAIL", "RCPT" or "DATA"
	Code       int        `json:"code"`  // 0 when there was no reply
	Text       string     `json:"text"`  // reply text without the codes, one line per reply line
	Verdict    Verdict    `json:"verdict"`
	Error      string     `json:"error,omitempty"` // why the verdict is "error"
	Time       time.Time  `json:"time"`            // UTC, when the case started
	ClientIP   netip.Addr `json:"client_ip"`       // the probe's end of the connection used
	ClientPort int        `json:"client_port"`
}

// Summary counts the verdicts of a Result.
type Summary struct {
	Cases        int  `json:"cases"`
	Accepted     int  `json:"accepted"`
	Refused      int  `json:"refused"`
	TempRefused  int  `json:"temporarily_refused"`
	AuthRequired int  `json:"auth_required"`
	Errors       int  `json:"errors"`
	Open         bool `json:"open"` // Accepted > 0
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
	Token      string       `json:"token,omitempty"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
	Cases      []CaseResult `json:"cases"`
	Summary    Summary      `json:"summary"`
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
	for i, c := range Cases(cfg, Target{Name: name, IP: s.remote.Addr()}) {
		if i > 0 && !sleep(ctx, cfg.Delay) {
			break
		}
		if s == nil {
			if s, err = p.connect(ctx); err != nil {
				res.Cases = append(res.Cases, CaseResult{
					Name: c.Name, Sender: c.Sender, Recipient: c.Recipient, Stage: "connect",
					Verdict: Error, Error: err.Error(), Time: time.Now().UTC(),
				})
				continue
			}
		}
		cr, ok := p.runCase(s, c, res.Token)
		res.Cases = append(res.Cases, cr)
		if !ok {
			p.tr.note("dropping the connection")
			s.close()
			s = nil
		}
	}
	if s != nil {
		p.cmd(s, "QUIT") // the verdicts are in; a bad reply to QUIT changes nothing
		s.close()
	}
	return finish(nil)
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
		if !contains(known, n) {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

// prober holds what lasts across the connections of one Run.
type prober struct {
	cfg   Config
	tr    *transcriptWriter
	addr  string // host:port to dial
	noTLS bool   // set after a failed handshake
}

// session is one connection, greeted and (maybe) encrypted.
type session struct {
	conn   net.Conn
	r      *bufio.Reader
	local  netip.AddrPort
	remote netip.AddrPort
	name   string // the server's name from its greeting
	helo   string // the name the probe gave
	tls    string
	stop   func() bool
}

func (s *session) close() {
	s.stop()
	s.conn.Close()
}

// reply is a reply read by the prober; lines are as received.
type reply struct {
	code  int
	lines []string
}

// connect dials and greets; after a failed TLS handshake it tries once more
// without TLS, since a broken STARTTLS must not hide whether the server relays.
func (p *prober) connect(ctx context.Context) (*session, error) {
	s, err := p.dial(ctx)
	if te := (*tlsError)(nil); errors.As(err, &te) && !p.noTLS {
		p.noTLS = true
		p.tr.note("%v; connecting again without TLS", err)
		return p.dial(ctx)
	}
	return s, err
}

func (p *prober) dial(ctx context.Context) (*session, error) {
	p.tr.note("connecting to %s", p.addr)
	d := net.Dialer{Timeout: p.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	s := &session{
		conn:   conn,
		r:      bufio.NewReader(conn),
		local:  addrPort(conn.LocalAddr()),
		remote: addrPort(conn.RemoteAddr()),
		// Closing the connection is what interrupts a blocked read or write
		// when ctx ends.
		stop: context.AfterFunc(ctx, func() { conn.Close() }),
	}
	p.tr.note("connected to %s from %s", s.remote, s.local)
	if err := p.hello(ctx, s); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// hello reads the greeting, says EHLO or HELO and starts TLS.
func (p *prober) hello(ctx context.Context, s *session) error {
	rep, err := p.read(s, "greeting")
	if err != nil {
		return err
	}
	if rep.code != 220 {
		return &ReplyError{Command: "greeting", Code: rep.code, Text: replyText(rep.lines)}
	}
	s.name = announcedName(rep.lines[0])
	s.helo = p.cfg.HeloName
	if s.helo == "" {
		s.helo = defaultHelo(s.local.Addr())
	}
	ext, err := p.ehlo(s)
	if err != nil || !ext["STARTTLS"] || p.cfg.NoTLS || p.noTLS {
		return err
	}
	rep, err = p.cmd(s, "STARTTLS")
	if err != nil {
		return err
	}
	if rep.code != 220 {
		p.tr.note("STARTTLS refused; going on without TLS")
		return nil
	}
	// Bytes the server sent after its 220 and before the handshake would be
	// read as replies inside TLS (the STARTTLS injection of CVE-2011-0411,
	// turned around): drop them with the old reader.
	if n := s.r.Buffered(); n > 0 {
		p.tr.note("ignoring %d bytes sent before the TLS handshake", n)
	}
	// The certificate is not verified: the probe asks whether the admin's own
	// server relays, and a self-signed or expired certificate must not stop
	// that question from being answered. Nothing secret is sent.
	tc := tls.Client(s.conn, &tls.Config{ServerName: sniName(p.cfg.Host), InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(p.cfg.Timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return &tlsError{err}
	}
	st := tc.ConnectionState()
	s.conn, s.r, s.tls = tc, bufio.NewReader(tc), tls.VersionName(st.Version)
	p.tr.note("TLS started: %s, %s", s.tls, tls.CipherSuiteName(st.CipherSuite))
	_, err = p.ehlo(s)
	return err
}

// ehlo says EHLO, or HELO when EHLO gets a 5xx (RFC 5321 section 3.2), and
// returns the EHLO keywords in upper case.
func (p *prober) ehlo(s *session) (map[string]bool, error) {
	rep, err := p.cmd(s, "EHLO "+s.helo)
	if err != nil {
		return nil, err
	}
	if rep.code == 250 {
		ext := map[string]bool{}
		for _, l := range rep.lines[1:] {
			if kw, _, _ := strings.Cut(replyText([]string{l}), " "); kw != "" {
				ext[strings.ToUpper(kw)] = true
			}
		}
		return ext, nil
	}
	if rep.code < 500 {
		return nil, &ReplyError{Command: "EHLO", Code: rep.code, Text: replyText(rep.lines)}
	}
	rep, err = p.cmd(s, "HELO "+s.helo)
	if err != nil {
		return nil, err
	}
	if rep.code != 250 {
		return nil, &ReplyError{Command: "HELO", Code: rep.code, Text: replyText(rep.lines)}
	}
	return map[string]bool{}, nil
}

// announcedName is the first word of a greeting line when it looks like a
// host name; the name goes into the addresses the probe sends, so anything
// else is dropped.
func announcedName(line string) string {
	name, _, _ := strings.Cut(replyText([]string{line}), " ")
	if !validDomain(name) || strings.HasPrefix(name, "[") || !strings.Contains(name, ".") {
		return ""
	}
	return name
}

// defaultHelo is this machine's name when it is fully qualified, else the
// address literal of the probe's end of the connection. A bare "localhost"
// would be refused by reject_non_fqdn_helo_hostname and the like, and every
// case would then be refused for the wrong reason.
func defaultHelo(local netip.Addr) string {
	if h, err := os.Hostname(); err == nil && strings.Contains(strings.Trim(h, "."), ".") && validDomain(h) {
		return h
	}
	return addrLiteral(local)
}

// sniName is host when it is a name; TLS sends no IP addresses as SNI.
func sniName(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return host
}

// cmd sends one command line and reads its reply.
func (p *prober) cmd(s *session, line string) (reply, error) {
	verb, _, _ := strings.Cut(line, " ")
	p.tr.printf("C: %s\n", escape(line))
	s.conn.SetWriteDeadline(time.Now().Add(p.cfg.Timeout))
	if _, err := io.WriteString(s.conn, line+"\r\n"); err != nil {
		p.tr.note("%v", err)
		return reply{}, fmt.Errorf("send %s: %w", verb, err)
	}
	return p.read(s, verb)
}

// read reads one reply within the timeout and copies it to the transcript.
func (p *prober) read(s *session, what string) (reply, error) {
	s.conn.SetReadDeadline(time.Now().Add(p.cfg.Timeout))
	code, lines, err := ReadReply(s.r, p.cfg.Limits)
	for _, l := range lines {
		p.tr.printf("S: %s\n", escape(l))
	}
	if err != nil {
		err = fmt.Errorf("reply to %s: %w", what, err)
		p.tr.note("%v", err)
	}
	return reply{code, lines}, err
}

// runCase tries one case and reports whether the session can go on.
func (p *prober) runCase(s *session, c Case, token string) (CaseResult, bool) {
	cr := CaseResult{
		Name: c.Name, Sender: c.Sender, Recipient: c.Recipient,
		Time: time.Now().UTC(), ClientIP: s.local.Addr(), ClientPort: int(s.local.Port()),
	}
	fail := func(err error) (CaseResult, bool) {
		cr.Verdict, cr.Error = Error, err.Error()
		p.tr.note("verdict %s: %s", c.Name, cr.Verdict)
		return cr, false
	}
	p.tr.note("case %s: %s", c.Name, c.About)
	cr.Stage = "MAIL"
	rep, err := p.cmd(s, "MAIL FROM:<"+c.Sender+">")
	if err != nil {
		return fail(err)
	}
	if rep.code/100 == 2 {
		cr.Stage = "RCPT"
		if rep, err = p.cmd(s, "RCPT TO:<"+c.Recipient+">"); err != nil {
			return fail(err)
		}
	}
	if rep.code/100 == 2 && c.Name == sendToCase {
		cr.Stage = "DATA"
		if rep, err = p.data(s, c, token); err != nil {
			return fail(err)
		}
	}
	cr.Code, cr.Text, cr.Verdict = rep.code, replyText(rep.lines), verdictFor(rep.code)
	p.tr.note("verdict %s: %s", c.Name, cr.Verdict)
	if rep.code == 421 { // the server is closing the connection (RFC 5321 section 3.8)
		return cr, false
	}
	rep, err = p.cmd(s, "RSET")
	return cr, err == nil && rep.code == 250
}

// data sends the one message of the send-to case and returns the reply to
// its end.
func (p *prober) data(s *session, c Case, token string) (reply, error) {
	rep, err := p.cmd(s, "DATA")
	if err != nil || rep.code != 354 {
		if err == nil && rep.code/100 == 2 {
			err = fmt.Errorf("%w: %d to DATA, want 354", ErrMalformed, rep.code)
		}
		return rep, err
	}
	_, domain, _ := strings.Cut(c.Sender, "@")
	msg := []string{
		"From: <" + c.Sender + ">",
		"To: <" + c.Recipient + ">",
		"Subject: relaysleuth open relay test " + token,
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: <relaysleuth." + token + "@" + domain + ">",
		"",
		"relaysleuth probe sent this message through " + p.addr + " (" + s.name + ")",
		"as its relay test. If it reached " + c.Recipient + ", that server relayed it",
		"for a client it did not know.",
		".",
	}
	for _, l := range msg {
		p.tr.printf("C: %s\n", escape(l))
	}
	s.conn.SetWriteDeadline(time.Now().Add(p.cfg.Timeout))
	if _, err := io.WriteString(s.conn, strings.Join(msg, "\r\n")+"\r\n"); err != nil {
		return reply{}, fmt.Errorf("send message: %w", err)
	}
	return p.read(s, "end of data")
}

// transcriptWriter writes the transcript and remembers its first error, after
// which it writes nothing.
type transcriptWriter struct {
	w   io.Writer
	err error
}

func (t *transcriptWriter) printf(format string, args ...any) {
	if t.w != nil && t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// note writes a "* " line; its text may quote the server, so it is escaped.
func (t *transcriptWriter) note(format string, args ...any) {
	t.printf("* %s\n", escape(fmt.Sprintf(format, args...)))
}
