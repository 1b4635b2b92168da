package exim

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// server appends the event of a mainlog line about Exim itself, when
// nothing else was made of it: the daemon starting (after a start, and
// again after every SIGHUP, when it re-executes itself with the new
// configuration), the SIGHUP itself, a SIGTERM, and the line naming the
// configuration file in use ("configuration file is /etc/exim4/exim4.conf").
//
//	2026-11-27 19:36:55 pid 29631: SIGHUP received: re-exec daemon
//	2026-11-27 19:36:55 exim 4.96 daemon started: pid=29631, -q30m, listening for SMTP on [127.0.0.1]:25
func server(dst []parsers.Event, ev parsers.Event, body string) []parsers.Event {
	status := ""
	switch {
	case strings.HasPrefix(body, "exim ") && strings.Contains(body, " daemon started: "):
		status = parsers.ServerStart
	case strings.HasPrefix(body, "configuration file is "):
		status = parsers.ServerConfig
	case strings.HasPrefix(body, "pid ") && strings.Contains(body, ": SIGHUP received"):
		status = parsers.ServerReload
	case strings.HasPrefix(body, "pid ") && strings.Contains(body, ": SIGTERM received"):
		status = parsers.ServerStop
	}
	if status == "" {
		return dst
	}
	ev.Kind, ev.Status, ev.Reason = parsers.KindServer, status, body
	return append(dst, ev)
}
