// Command smtp is the SMTP peer make.sh runs against a real Exim to write
// the allsel corpus: a sink that Exim delivers outside mail to, and the
// clients of the sessions the corpus holds. It is test tooling, not part of
// relaysleuth (a directory named testdata is ignored by the go command).
//
//	smtp sink ADDR CERT KEY           accept mail on ADDR, STARTTLS with CERT/KEY
//	smtp client SERVER CASE...        run the named client sessions against SERVER
//
// The sink answers RCPT for nobody@bouncy.example with 550 5.1.1 and for
// anything @slow.example with 451 4.4.1, everything else with 250; it ends
// each message with "250 2.0.0 Ok: queued as SINKnnnn".
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: smtp sink ADDR CERT KEY | smtp client SERVER CASE...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sink":
		err = sink(os.Args[2], os.Args[3], os.Args[4])
	case "client":
		for _, c := range os.Args[3:] {
			if err = runCase(os.Args[2], c); err != nil {
				err = fmt.Errorf("case %s: %w", c, err)
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtp:", err)
		os.Exit(1)
	}
}

var queued atomic.Int64

func sink(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c, conf)
	}
}

func serve(c net.Conn, conf *tls.Config) {
	defer func() { c.Close() }() // the TLS connection once STARTTLS ran: close_notify
	r := bufio.NewReader(c)
	w := func(s string) { fmt.Fprint(c, s+"\r\n") }
	w("220 sink.outside.example ESMTP")
	data := false
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if data {
			if strings.TrimRight(l, "\r\n") == "." {
				data = false
				w(fmt.Sprintf("250 2.0.0 Ok: queued as SINK%04d", queued.Add(1)))
			}
			continue
		}
		cmd := strings.ToUpper(strings.TrimSpace(l))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			w("250-sink.outside.example")
			if _, ok := c.(*tls.Conn); !ok {
				w("250-STARTTLS")
			}
			w("250 8BITMIME")
		case cmd == "STARTTLS":
			w("220 2.0.0 go ahead")
			tc := tls.Server(c, conf)
			if tc.Handshake() != nil {
				return
			}
			c, r = tc, bufio.NewReader(tc)
			w = func(s string) { fmt.Fprint(c, s+"\r\n") }
		case strings.HasPrefix(cmd, "RCPT") && strings.Contains(cmd, "NOBODY@BOUNCY.EXAMPLE"):
			w("550 5.1.1 <nobody@bouncy.example>: Recipient address rejected: User unknown")
		case strings.HasPrefix(cmd, "RCPT") && strings.Contains(cmd, "@SLOW.EXAMPLE"):
			w("451 4.4.1 <later@slow.example>: try again later")
		case cmd == "DATA":
			data = true
			w("354 go on")
		case cmd == "QUIT":
			w("221 2.0.0 bye")
			return
		default:
			w("250 2.0.0 ok")
		}
	}
}

// A session is one client connection: where it comes from and what it says.
type session struct {
	src   string // source address on the loopback network
	helo  string
	tls   bool
	auth  string // "user:password" for AUTH PLAIN after STARTTLS
	steps []step
}

// A step is one command and the reply class wanted ('2', '3', '4', '5'),
// or a message to send after DATA.
type step struct {
	cmd  string
	want byte
	body string
}

// One client TLS configuration for all sessions, so that a second TLS
// session can resume the first (log_selector +tls_resumption).
var clientTLS = &tls.Config{
	InsecureSkipVerify: true, // a self-signed certificate made by make.sh
	ServerName:         "mail.corp.example",
	ClientSessionCache: tls.NewLRUClientSessionCache(8),
}

func msg(from, to, subject, msgid string) string {
	h := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n"
	if msgid != "" {
		h += "Message-ID: <" + msgid + ">\r\n"
	}
	return h + "\r\nA test message for the relaysleuth allsel corpus.\r\n"
}

// cases are the sessions of the corpus. Their Message-IDs name them, so
// that make.sh can find each message's queue id in the log for labels.csv.
var cases = map[string][]session{
	// A partner's server sends to a local user over TLS (SNI set).
	"inbound": {{src: "127.0.0.10", helo: "mx.partner.example", tls: true, steps: []step{
		{cmd: "MAIL FROM:<anna@partner.example>", want: '2'},
		{cmd: "RCPT TO:<ivan@corp.example>", want: '2'},
		{cmd: "RCPT TO:<sales@corp.example>", want: '2'},
		{cmd: "DATA", want: '3', body: msg("anna@partner.example", "ivan@corp.example", "Quarterly numbers, \"draft\" 2", "inbound.1@partner.example")},
		{cmd: "QUIT", want: '2'},
	}}},
	// A stranger tries to relay: refused at RCPT; a local recipient in
	// the same transaction is taken.
	"relay": {{src: "127.0.0.11", helo: "win-relay", steps: []step{
		{cmd: "MAIL FROM:<promo@spam.example>", want: '2'},
		{cmd: "RCPT TO:<victim@outside.example>", want: '5'},
		{cmd: "RCPT TO:<victim2@outside.example>", want: '5'},
		{cmd: "RCPT TO:<ivan@corp.example>", want: '2'},
		{cmd: "DATA", want: '3', body: msg("promo@spam.example", "ivan@corp.example", "Cheap watches", "relay.1@spam.example")},
		{cmd: "QUIT", want: '2'},
	}}},
	// A user submits after STARTTLS and AUTH PLAIN, with MAIL ... AUTH=
	// (+smtp_mailauth) and no Message-ID (Exim makes one: id*=). The
	// second session resumes the first's TLS session.
	"submission": {
		{src: "127.0.0.12", helo: "laptop.corp.example", tls: true, auth: "bob:secret", steps: []step{
			{cmd: "MAIL FROM:<bob@corp.example> AUTH=<bob@corp.example>", want: '2'},
			{cmd: "RCPT TO:<friend@outside.example>", want: '2'},
			{cmd: "RCPT TO:<carol@corp.example>", want: '2'},
			{cmd: "DATA", want: '3', body: msg("bob@corp.example", "friend@outside.example", "Lunch?", "")},
			{cmd: "QUIT", want: '2'},
		}},
		{src: "127.0.0.12", helo: "laptop.corp.example", tls: true, auth: "bob:secret", steps: []step{
			{cmd: "MAIL FROM:<bob@corp.example>", want: '2'},
			{cmd: "RCPT TO:<later@slow.example>", want: '2'},
			{cmd: "DATA", want: '3', body: msg("bob@corp.example", "later@slow.example", "Minutes", "submission.2@corp.example")},
			{cmd: "QUIT", want: '2'},
		}},
	},
	// A host of the trusted network relays, unauthenticated; one
	// recipient bounces at the remote server (Exim sends a bounce to the
	// local sender), one is a mailbox forwarded outside.
	"trusted": {{src: "127.0.0.1", helo: "app.corp.example", steps: []step{
		{cmd: "MAIL FROM:<app@corp.example>", want: '2'},
		{cmd: "RCPT TO:<customer@partner.example>", want: '2'},
		{cmd: "RCPT TO:<nobody@bouncy.example>", want: '2'},
		{cmd: "DATA", want: '3', body: msg("app@corp.example", "customer@partner.example", "Your invoice", "trusted.1@corp.example")},
		{cmd: "QUIT", want: '2'},
	}}},
	// Mail to a local address that forwards to an outside mailbox.
	"forward": {{src: "127.0.0.13", helo: "mx.partner.example", steps: []step{
		{cmd: "MAIL FROM:<anna@partner.example>", want: '2'},
		{cmd: "RCPT TO:<fwd@corp.example>", want: '2'},
		{cmd: "DATA", want: '3', body: msg("anna@partner.example", "fwd@corp.example", "For the traveller", "forward.1@partner.example")},
		{cmd: "QUIT", want: '2'},
	}}},
	// Transactions that end without a message, a syntax error, a
	// protocol error, a failed login and a session without MAIL.
	"noise": {
		{src: "127.0.0.14", helo: "scanner", steps: []step{
			{cmd: "MAIL FROM:<probe@scan.example>", want: '2'},
			{cmd: "RCPT TO:<ivan@corp.example>", want: '2'},
			{cmd: "RSET", want: '2'},
			{cmd: "MAIL FROM:<probe@scan.example>", want: '2'},
			{cmd: "MAIL FROM:<again@scan.example>", want: '5'},
			{cmd: "RCPT TO:<bad@@corp.example>", want: '5'},
			{cmd: "RCPT TO:<carol@corp.example>", want: '2'},
			{cmd: "QUIT", want: '2'},
		}},
		{src: "127.0.0.15", helo: "guesser", tls: true, auth: "bob:wrong", steps: []step{
			{cmd: "QUIT", want: '2'},
		}},
		{src: "127.0.0.16", helo: "idle", steps: []step{
			{cmd: "NOOP", want: '2'},
			{cmd: "QUIT", want: '2'},
		}},
	},
	// The open relay: Exim's relay_from_hosts wrongly holds 127.0.0.20,
	// which the policy (config.json) does not trust.
	"abuse": {{src: "127.0.0.20", helo: "bulk-sender", steps: []step{
		{cmd: "MAIL FROM:<offers@bulk.example>", want: '2'},
		{cmd: "RCPT TO:<target1@victim.example>", want: '2'},
		{cmd: "RCPT TO:<target2@victim.example>", want: '2'},
		{cmd: "DATA", want: '3', body: msg("offers@bulk.example", "target1@victim.example", "You won", "abuse.1@bulk.example")},
		{cmd: "QUIT", want: '2'},
	}}},
	// A host the connect ACL refuses.
	"refused": {{src: "127.0.0.17", helo: "blocked", steps: nil}},
}

func runCase(server, name string) error {
	ss, ok := cases[name]
	if !ok {
		return fmt.Errorf("no such case")
	}
	for _, s := range ss {
		if err := run(server, s); err != nil {
			return err
		}
	}
	return nil
}

func run(server string, s session) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(s.src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func() (string, error) {
		var all string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return all, err
			}
			all += l
			if len(l) < 4 || l[3] != '-' {
				return all, nil
			}
		}
	}
	send := func(cmd string, want byte) error {
		if _, err := fmt.Fprint(c, cmd+"\r\n"); err != nil {
			return err
		}
		got, err := reply()
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if got == "" || got[0] != want {
			return fmt.Errorf("%s: got %q, want %cxx", cmd, strings.TrimSpace(got), want)
		}
		return nil
	}
	greet, err := reply()
	if err != nil {
		return err
	}
	if s.steps == nil { // the connect ACL refuses: 554 and close
		if greet[0] != '5' {
			return fmt.Errorf("greeting %q, want a refusal", greet)
		}
		return nil
	}
	if err := send("EHLO "+s.helo, '2'); err != nil {
		return err
	}
	if s.tls {
		if err := send("STARTTLS", '2'); err != nil {
			return err
		}
		tc := tls.Client(c, clientTLS)
		if err := tc.Handshake(); err != nil {
			return err
		}
		c, r = tc, bufio.NewReader(tc)
		if err := send("EHLO "+s.helo, '2'); err != nil {
			return err
		}
	}
	if s.auth != "" {
		user, pass, _ := strings.Cut(s.auth, ":")
		want := byte('2')
		if pass == "wrong" {
			want = '5'
		}
		tok := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		if err := send("AUTH PLAIN "+tok, want); err != nil {
			return err
		}
	}
	for _, st := range s.steps {
		if err := send(st.cmd, st.want); err != nil {
			return err
		}
		if st.body != "" {
			body := strings.ReplaceAll(st.body, "\r\n.", "\r\n..")
			if err := send(body+".", '2'); err != nil {
				return err
			}
		}
	}
	return nil
}
