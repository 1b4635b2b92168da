package exim

import (
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// A rewriting of an address (log_selector +address_rewrite; rewrite.c)
// is logged before the message's arrival line, with the message id once
// there is one, under the process id alone at SMTP time:
//
//	1xa2aD-0005aR-1p "carol@mail.corp.example" from env-from rewritten as "carol@corp.example" by rule 1
//	"bob@mail.corp.example" from env-to rewritten as "bob@corp.example" by rule 2
//
// The line has no event of its own (a message event before the arrival
// would start the message too early); what it says is kept on the
// arrival line's event as a "rewrite" attribute, "env-from
// carol@mail.corp.example -> carol@corp.example (rule 1)", so that the
// address the client gave stays beside the one that was judged.

// maxRewrites bounds the rewrites kept for arrivals not yet seen (a cut
// log, a refused message).
const maxRewrites = 256

// rewrite records a rewrite line and reports whether body was one. key is
// the message id, or the process id when the line has none.
func (p *Parser) rewrite(key, body string) bool {
	if !strings.HasPrefix(body, `"`) || !strings.Contains(body, ` rewritten as "`) {
		return false
	}
	old, rest := quoted(body)
	where, rest, ok := strings.Cut(strings.TrimPrefix(rest, " from "), " rewritten as ")
	if !ok {
		return false
	}
	repl, rest := quoted(rest)
	rule := strings.TrimPrefix(strings.TrimSpace(rest), "by ")
	if key == "" {
		return true
	}
	if p.rewrites == nil || len(p.rewrites) >= maxRewrites {
		p.rewrites = map[string][]string{}
	}
	p.rewrites[key] = append(p.rewrites[key], where+" "+old+" -> "+repl+" ("+rule+")")
	return true
}

// takeRewrites adds to ev the rewrites recorded for its message id and
// for the process that received it, and forgets them.
func (p *Parser) takeRewrites(ev *parsers.Event, pid string) {
	if len(p.rewrites) == 0 {
		return
	}
	for _, k := range [...]string{"pid " + pid, ev.QueueID} {
		if k == "pid " {
			continue
		}
		for _, r := range p.rewrites[k] {
			ev.AddAttr("rewrite", r)
		}
		delete(p.rewrites, k)
	}
}
