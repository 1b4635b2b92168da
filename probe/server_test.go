package probe

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a scripted SMTP server on 127.0.0.1, started by a test and
// stopped at its end. The zero policies answer like a closed relay.
type fakeServer struct {
	Port int

	greeting string // raw greeting, CRLF included
	noEHLO   bool   // answer EHLO with 502, as a HELO-only server
	tlsConf  *tls.Config
	tlsBreak bool                    // answer STARTTLS with 220, then garbage
	mail     func(arg string) string // reply to MAIL FROM:arg
	rcpt     func(arg string) string // reply to RCPT TO:arg; "" means no reply at all
	dropRcpt bool                    // close the connection after replying to RCPT
	raw      func(c net.Conn)        // takes the connection over, for hostile servers

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	cmds  []string // every command line received, across connections
	tlsN  int      // how many of them came over TLS
	msgs  []string // messages received after DATA
	nconn int
}

const localDomain = "mx.test.example"

// closedRcpt takes mail for the server's own domain only, and refuses the
// address tricks outright.
func closedRcpt(arg string) string {
	addr := strings.Trim(arg, "<>")
	local, domain, _ := strings.Cut(addr, "@")
	if domain == localDomain && !strings.ContainsAny(local, `%!":@`) {
		return "250 2.1.5 Ok"
	}
	return "550 5.7.1 Relaying denied to external recipients"
}

func startServer(t *testing.T, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	s := &fakeServer{greeting: "220 " + localDomain + " ESMTP fake\r\n", rcpt: closedRcpt}
	if configure != nil {
		configure(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.Port = ln, ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.nconn++
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if s.raw != nil {
					s.raw(c)
					return
				}
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) serve(c net.Conn) {
	io.WriteString(c, s.greeting)
	r := bufio.NewReader(c)
	inTLS := false
	reply := func(line string) { io.WriteString(c, line+"\r\n") }
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		if inTLS {
			s.tlsN++
		}
		s.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		switch verb = strings.ToUpper(verb); {
		case verb == "EHLO" && s.noEHLO:
			reply("502 5.5.2 Error: command not recognized")
		case verb == "EHLO":
			ehlo := "250-" + localDomain + "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			if s.tlsConf != nil && !inTLS {
				ehlo += "250-STARTTLS\r\n"
			}
			io.WriteString(c, ehlo+"250 8BITMIME\r\n")
		case verb == "HELO":
			reply("250 " + localDomain)
		case verb == "STARTTLS" && s.tlsBreak:
			reply("220 2.0.0 Ready to start TLS")
			io.WriteString(c, "this is not a TLS record\r\n")
			return
		case verb == "STARTTLS" && s.tlsConf != nil && !inTLS:
			reply("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, inTLS = tc, bufio.NewReader(tc), true
		case verb == "MAIL":
			if s.mail != nil {
				reply(s.mail(strings.TrimPrefix(arg, "FROM:")))
			} else {
				reply("250 2.1.0 Ok")
			}
		case verb == "RCPT":
			if rep := s.rcpt(strings.TrimPrefix(arg, "TO:")); rep != "" {
				reply(rep)
			}
			if s.dropRcpt {
				return
			}
		case verb == "DATA":
			reply("354 End data with <CR><LF>.<CR><LF>")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, msg.String())
			s.mu.Unlock()
			reply("250 2.0.0 Ok: queued as ABC123")
		case verb == "RSET":
			reply("250 2.0.0 Ok")
		case verb == "QUIT":
			reply("221 2.0.0 Bye")
			return
		default:
			reply("502 5.5.2 Error: command not recognized")
		}
	}
}

// verbs returns the verbs of the commands received, in order.
func (s *fakeServer) verbs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var vs []string
	for _, c := range s.cmds {
		v, _, _ := strings.Cut(c, " ")
		v, _, _ = strings.Cut(v, ":")
		vs = append(vs, strings.ToUpper(v))
	}
	return vs
}

// overTLS returns how many commands came over TLS.
func (s *fakeServer) overTLS() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsN
}

// messages returns the messages received after DATA.
func (s *fakeServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *fakeServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nconn
}

// selfSigned makes a certificate for 127.0.0.1 and mx.test.example.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: localDomain},
		DNSNames:     []string{localDomain},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
