package postfix

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// server appends the event of a line about Postfix itself, when no daemon
// parser made anything of it: master(8) starting and reloading, the
// postfix(1) command's postfix-script starting, refreshing and stopping the
// mail system, and the warning:, error:, fatal: and panic: lines any
// daemon writes through msg(3) (a queue file that cannot be read, a
// lookup table that is missing, a daemon that dies).
//
//	Nov 27 19:28:45 mail postfix/postfix-script[18285]: refreshing the Postfix mail system
//	Nov 27 19:28:45 mail postfix/master[18114]: reload -- version 3.7.11, configuration /etc/postfix
func server(dst []parsers.Event, ev parsers.Event, daemon, msg string) []parsers.Event {
	status := ""
	switch {
	case strings.HasPrefix(msg, "warning: "):
		if aboutClient(daemon, msg) {
			return dst
		}
		status = parsers.ServerWarning
	case strings.HasPrefix(msg, "fatal: "), strings.HasPrefix(msg, "panic: "), strings.HasPrefix(msg, "error: "):
		status = parsers.ServerError
	case daemon == "master":
		switch {
		case strings.HasPrefix(msg, "daemon started -- "):
			status = parsers.ServerStart
		case strings.HasPrefix(msg, "reload -- "):
			status = parsers.ServerReload
		case strings.HasPrefix(msg, "terminating on signal "):
			status = parsers.ServerStop
		}
	case daemon == "postfix-script":
		// postfix-script(1) from Postfix 2.x to 3.x: these three lines,
		// each followed by master's own.
		switch msg {
		case "starting the Postfix mail system":
			status = parsers.ServerStart
		case "refreshing the Postfix mail system":
			status = parsers.ServerReload
		case "stopping the Postfix mail system":
			status = parsers.ServerStop
		}
	}
	if status == "" {
		return dst
	}
	ev.Kind, ev.Status, ev.Reason = parsers.KindServer, status, strings.TrimRight(msg, " \r\n")
	return append(dst, ev)
}

// aboutClient reports whether a warning of smtpd(8) or postscreen(8) is
// about one SMTP client ("warning: hostname x does not resolve to address
// 203.0.113.9", "warning: non-SMTP command from unknown[203.0.113.9]"):
// strangers cause those by the thousand, and they say nothing of the
// server's state.
func aboutClient(daemon, msg string) bool {
	if daemon != "smtpd" && daemon != "postscreen" {
		return false
	}
	return strings.Contains(msg, "[") || strings.Contains(msg, "does not resolve to address") ||
		strings.Contains(msg, "address not listed for hostname") ||
		// A client that breaks off or botches a handshake: OpenSSL's
		// words, logged after the TLS lines that name the client.
		strings.HasPrefix(msg, "warning: TLS library problem: ")
}
