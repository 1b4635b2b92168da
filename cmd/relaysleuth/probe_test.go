package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
)

// openRelay is an SMTP server on 127.0.0.1 that accepts every recipient:
// what a misconfigured server does.
func openRelay(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.Write([]byte("220 relay.test ESMTP\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "QUIT"):
						c.Write([]byte("221 bye\r\n"))
						return
					case strings.HasPrefix(cmd, "DATA"):
						c.Write([]byte("554 no data in this test\r\n"))
					default:
						c.Write([]byte("250 ok\r\n"))
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestProbeOpenRelayExitStatus(t *testing.T) {
	addr := openRelay(t)
	var stdout, stderr bytes.Buffer
	err := runCLI(t, []string{"probe", "--no-tls", "--delay", "0", "--timeout", "5s", "--case", "local-sender,null-sender", addr}, &stdout, &stderr)
	if !errors.Is(err, errRelayFound) {
		t.Fatalf("probe of an open relay: err = %v, want relay found\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if code := exitCode(err, &stderr); code != exitRelay {
		t.Errorf("exit %d, want %d", code, exitRelay)
	}
	if !strings.Contains(stdout.String(), "accepted") || strings.Contains(stdout.String(), "C: DATA") {
		t.Errorf("transcript should show accepted cases and no DATA:\n%s", stdout.String())
	}
}
