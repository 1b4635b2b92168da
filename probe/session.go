package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

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
	if p.cfg.Source.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: p.cfg.Source.AsSlice(), Zone: p.cfg.Source.Zone()}
	}
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
		Name: c.Name, Sender: c.Sender, Recipient: c.Recipient, Marker: c.Marker,
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
